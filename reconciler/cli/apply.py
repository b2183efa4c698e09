from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli._reconciler_options import aws_options, build_reconciler
from reconciler.engine.report import Outcome

if TYPE_CHECKING:
    from reconciler.engine import Reconciler


@click.command(name="apply")
@aws_options
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--wait",
    is_flag=True,
    help="After a wiring change, wait until every distribution is Deployed.",
)
@click.option("--wait-timeout", type=float, default=1800.0, show_default=True, help="Seconds, with --wait.")
def command(
    routes_dir: Path,
    root: Path | None,
    region: str,
    endpoint_url: str | None,
    allow_mass_delete: bool,
    env: str | None,
    plan_file: Path | None,
    auto_approve: bool,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Apply the difference between the route files and live AWS.

    Without PLAN_FILE, makes a fresh plan, shows it and asks before writing (on a
    terminal; elsewhere --auto-approve is required). With PLAN_FILE (from `plan --out`),
    applies it only if the route files and the live state it was made from are unchanged.
    A stale ETag during apply re-reads and re-plans (at most 3 times), and applies only
    what is left of the plan shown; a re-plan that differs is refused. Exit status 0 when
    applied or nothing to do, 1 otherwise.
    """
    from reconciler.core.model import Plan
    from reconciler.core.plan_json import plan_from_dict
    from reconciler.core.render import render_text

    if not auto_approve and not sys.stdin.isatty():
        raise click.UsageError("no terminal to confirm on: pass --auto-approve to apply")
    expected = plan_from_dict(json.loads(plan_file.read_text())) if plan_file else None
    reconciler = build_reconciler(routes_dir, root, region, endpoint_url, allow_mass_delete, env)
    reconciler.on_step = _progress

    def confirm(plan: Plan) -> bool:
        click.echo(render_text(plan), nl=False)
        return auto_approve or click.confirm("Apply these changes?", default=False)

    report = reconciler.run_pass(dry_run=False, expected=expected, confirm=confirm)
    if report.plan is not None and report.outcome in (Outcome.NO_CHANGES, Outcome.REFUSED):
        click.echo(render_text(report.plan), nl=False)
    for line in report.errors:
        click.echo(line, err=True)
    if report.outcome is Outcome.APPLIED:
        click.echo(f"Applied {len(report.applied)} changes with {report.write_calls} write calls.")
        if wait:
            _wait(reconciler, wait_timeout)
    elif report.outcome is Outcome.PLANNED:
        click.echo("Nothing applied.")
    if report.outcome is Outcome.FAILED and report.applied:
        click.echo(f"{len(report.applied)} changes landed before the failure; run apply again to converge.", err=True)
    raise SystemExit(0 if report.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES) else 1)


def _progress(done: int, total: int) -> None:
    if total >= 20 and (done == total or done % max(1, total // 10) == 0):
        click.echo(f"  data batches: {done}/{total}", err=True)


def _wait(reconciler: Reconciler, timeout: float) -> None:
    click.echo("Waiting for the distributions to deploy...", err=True)
    reconciler.wait_deployed(
        timeout,
        on_progress=lambda name, status, elapsed: click.echo(
            f"  {name}: {status} after {elapsed:.0f}s", err=True
        ),
    )
    click.echo("Every distribution is Deployed.", err=True)
