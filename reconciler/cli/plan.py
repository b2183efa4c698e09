from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import click

from reconciler.cli._reconciler_options import aws_options, build_reconciler
from reconciler.cli._route_errors import (
    TITLE,
    errors_json,
    errors_markdown,
    failure_json,
    failure_markdown,
)
from reconciler.engine.report import Outcome, PassReport

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@click.command(name="plan")
@aws_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for a terminal, json for tools, markdown for a pull request comment. "
    "Errors are printed in the same format.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the plan (JSON) for `reconciler apply FILE`.",
)
def command(
    routes_dir: Path,
    root: Path | None,
    region: str,
    endpoint_url: str | None,
    allow_mass_delete: bool,
    env: str | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Show what apply would change: observe live AWS, diff it against the route files.

    Writes nothing to AWS. Exit status: 0 no changes, 2 changes, 1 errors (invalid route
    files, a plan that cannot be applied, or an AWS error); with --format json or
    markdown the errors are printed on standard output in that format.
    """
    from reconciler.core.plan_json import plan_to_dict
    from reconciler.core.render import render_json, render_markdown, render_text
    from reconciler.routes import load_route_set

    load = functools.partial(load_route_set, routes_dir, root, environment=env, environ=os.environ)
    reconciler = build_reconciler(routes_dir, root, region, endpoint_url, allow_mass_delete, env)
    report = reconciler.run_pass(dry_run=True)
    if report.outcome in (Outcome.INVALID, Outcome.FAILED):
        _print_failure(report, fmt, load)
        raise SystemExit(EXIT_ERROR)
    plan = report.plan
    assert plan is not None
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt]
    click.echo(render(plan), nl=False)
    if out is not None:
        out.write_text(json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, default=str) + "\n")
        click.echo(f"Saved the plan to {out}; apply it with: reconciler apply {out}", err=True)
    if report.outcome is Outcome.REFUSED:
        raise SystemExit(EXIT_ERROR)
    raise SystemExit(EXIT_NO_CHANGES if plan.empty else EXIT_CHANGES)


def _print_failure(report: PassReport, fmt: str, load: Any) -> None:
    """Errors on stderr for a terminal; on stdout in the format asked for otherwise."""
    if fmt == "text":
        for line in report.errors:
            click.echo(line, err=True)
        return
    if report.outcome is Outcome.INVALID:
        from reconciler.routes import RouteSetInvalid

        try:
            load()  # the pass reports text lines; read again for structured errors
        except RouteSetInvalid as invalid:
            headline = (
                f"The route files are invalid: {len(invalid.errors)} error(s). Nothing was planned."
            )
            if fmt == "json":
                click.echo(errors_json(invalid.errors, outcome="invalid"), nl=False)
            else:
                click.echo(errors_markdown(invalid.errors, TITLE, headline), nl=False)
            return
    headline = f"The plan failed ({report.outcome.value}): nothing was planned."
    if fmt == "json":
        click.echo(failure_json(report.outcome.value, report.errors, report.error_class), nl=False)
    else:
        click.echo(failure_markdown(headline, report.errors), nl=False)
