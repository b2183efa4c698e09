from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.routes import RouteSet, RouteSetInvalid, load_route_set

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
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def command(routes_dir: Path, root: Path | None, fmt: str) -> None:
    """Validate the route files in DIR and report every error with file, line and field.

    Exit status 0 when the set is valid, 1 when it is not (one line per error:
    FILE:LINE:COLUMN: FIELD: MESSAGE [CODE]).
    """
    try:
        route_set = load_route_set(routes_dir, root)
    except RouteSetInvalid as invalid:
        if fmt == "json":
            payload = {"valid": False, "errors": [e.to_json() for e in invalid.errors]}
            click.echo(json.dumps(payload, indent=2))
        else:
            for error in invalid.errors:
                click.echo(error.render())
            click.echo(f"reconciler: {len(invalid.errors)} error(s) in {routes_dir}", err=True)
        raise SystemExit(EXIT_INVALID) from None
    if fmt == "json":
        payload = {
            "valid": True,
            "summary": route_set.summary(),
            "contentHash": route_set.content_hash,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(_summary_line(routes_dir, route_set))


def _summary_line(routes_dir: Path, route_set: RouteSet) -> str:
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
        f"{routes_dir}: valid: {counts['files']} files, {kinds}; "
        f"{counts['entries']} store entries, {counts['items']} table items "
        f"({route_set.content_hash[:19]})"
    )
