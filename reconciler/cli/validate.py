from __future__ import annotations

import json
import os
from pathlib import Path

import click

from reconciler.cli._route_errors import errors_json, errors_markdown
from reconciler.routes import RouteSet, RouteSetInvalid, load_route_set
from reconciler.routes.variables import ENVIRONMENTS_DIR

# Exit codes: 0 valid, 1 errors found (click itself uses 2 for usage errors).
EXIT_INVALID = 1


@click.command(name="validate")
@click.argument(
    "routes_dir",
    metavar="[DIR]",
    default="routes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Repository root that paths in route files are relative to [default: parent of DIR].",
)
@click.option(
    "--env",
    "envs",
    multiple=True,
    envvar="RECONCILER_ENV",
    help="Environment whose ROOT/environments/NAME.yaml gives ${VARIABLE} values; "
    "repeat to validate several. RECONCILER_VAR_<NAME> fills names the file leaves open.",
)
@click.option(
    "--all-envs",
    is_flag=True,
    help="Validate once per ROOT/environments/*.yaml (once without one if there are none).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def command(
    routes_dir: Path, root: Path | None, envs: tuple[str, ...], all_envs: bool, fmt: str
) -> None:
    """Validate the route files in DIR and report every error with file, line and field.

    Exit status 0 when the set is valid (in every environment validated), 1 when it is
    not (one line per error: FILE:LINE:COLUMN: FIELD: MESSAGE [CODE]).
    """
    repo = (root or routes_dir.resolve().parent).resolve()
    selected: list[str | None] = list(envs) or [None]
    if all_envs:
        found = sorted(p.stem for p in (repo / ENVIRONMENTS_DIR).glob("*.yaml"))
        selected = list(found) or [None]
    results: dict[str | None, RouteSet | RouteSetInvalid] = {}
    for env in selected:
        try:
            results[env] = load_route_set(routes_dir, root, environment=env, environ=os.environ)
        except RouteSetInvalid as invalid:
            results[env] = invalid
    bad = {env: r for env, r in results.items() if isinstance(r, RouteSetInvalid)}
    click.echo(_render(routes_dir, results, fmt), nl=False)
    if bad:
        total = sum(len(r.errors) for r in bad.values())
        click.echo(f"reconciler: {total} error(s) in {routes_dir}", err=True)
        raise SystemExit(EXIT_INVALID)


def _render(
    routes_dir: Path, results: dict[str | None, RouteSet | RouteSetInvalid], fmt: str
) -> str:
    named = any(env is not None for env in results)
    if fmt == "json":
        documents = {env: _json(result) for env, result in results.items()}
        if not named:
            return json.dumps(documents[None], indent=2) + "\n"
        valid = all(d["valid"] for d in documents.values())
        return json.dumps({"valid": valid, "environments": documents}, indent=2) + "\n"
    out = []
    for env, result in results.items():
        where = f"{routes_dir}" + (f": environment {env}" if env is not None else "")
        if isinstance(result, RouteSet):
            out.append(_summary_line(where, result) + "\n")
        elif fmt == "markdown":
            headline = f"{where}: {len(result.errors)} error(s); nothing can be planned"
            out.append(errors_markdown(result.errors, "### Route files", headline))
        else:
            out.append(
                (f"# environment {env}\n" if named else "")
                + "".join(e.render() + "\n" for e in result.errors)
            )
    return "".join(out)


def _json(result: RouteSet | RouteSetInvalid) -> dict[str, object]:
    if isinstance(result, RouteSetInvalid):
        loaded: dict[str, object] = json.loads(errors_json(result.errors))
        return loaded
    return {"valid": True, "summary": result.summary(), "contentHash": result.content_hash}


def _summary_line(where: str, route_set: RouteSet) -> str:
    counts = route_set.summary()
    kinds = ", ".join(
        f"{counts[kind]} {kind}"
        for kind in (
            "KeyValueStore",
            "RoutingTable",
            "CloudFrontFunction",
            "LambdaEdgeFunction",
            "Distribution",
            "ReconcilerPolicy",
        )
        if counts[kind]
    )
    return (
        f"{where}: valid: {counts['files']} files, {kinds}; "
        f"{counts['entries']} store entries, {counts['items']} table items "
        f"({route_set.content_hash[:19]})"
    )
