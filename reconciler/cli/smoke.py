"""`reconciler smoke`: the walkthrough's cURL tests, run through a local edge."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.routes import RouteSetInvalid, load_route_set

if TYPE_CHECKING:
    from reconciler.edge.local_stack import LocalStack

EXIT_FAILED = 1


@click.command(name="smoke")
@click.option(
    "--edge-url",
    envvar="RECONCILER_EDGE_URL",
    default=None,
    help="A running local edge (e.g. from `reconciler sandbox --edge-port 8081`). "
    "Without it, smoke starts its own sandbox, reconciles the route files and starts an edge.",
)
@click.option(
    "--endpoint-url",
    default=None,
    help="The emulated AWS behind --edge-url; read for the distribution's default origin "
    "(without it: the seed's basic-api.example.com).",
)
@click.option(
    "--routes-dir",
    "--routes",
    "routes_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("routes"),
    show_default=True,
    help="Route files the expectations come from (and that are reconciled without --edge-url).",
)
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Repository root that function sources are relative to [default: parent of --routes].",
)
def command(
    edge_url: str | None, endpoint_url: str | None, routes_dir: Path, root: Path | None
) -> None:
    """Send the walkthrough's test requests through the edge; one line per check.

    Tier requests (GET /pets?CTIER=basic|standard|premium) must be answered by the tier's
    origin from the KeyValueStore documents; tenant requests (POST /tenant/orders with a
    JSON body {tenantId, accountId}) by the routing table's defaultBackend; an unknown
    tenant by the distribution's default origin. Exit status 1 when any check fails.
    """
    from reconciler.edge.smoke import run_checks, seed_checks
    from reconciler.engine.desired import desired_data

    if endpoint_url is not None and edge_url is None:
        raise click.UsageError(
            "--endpoint-url needs --edge-url: the local edge runs in the sandbox's process "
            "(start both with `reconciler sandbox --edge-port N`), or pass neither."
        )
    try:
        data = desired_data(load_route_set(routes_dir, root))
    except RouteSetInvalid as invalid:
        for error in invalid.errors:
            click.echo(error.render(), err=True)
        raise SystemExit(EXIT_FAILED) from None

    stack = None
    if edge_url is None:
        stack = _start_own_stack(routes_dir, root)
        edge_url, endpoint_url = stack.edge.url, stack.sandbox.endpoint_url
    try:
        results = run_checks(edge_url, seed_checks(data, _default_origin(endpoint_url)))
    finally:
        if stack is not None:
            stack.stop()
    for result in results:
        click.echo(result.line())
    failed = sum(not r.ok for r in results)
    click.echo(f"{len(results) - failed}/{len(results)} checks passed through {edge_url}")
    if failed:
        raise SystemExit(EXIT_FAILED)


def _start_own_stack(routes_dir: Path, root: Path | None) -> LocalStack:
    from reconciler.cli.sandbox_mode import start_seeded_sandbox
    from reconciler.edge.local_stack import start_local_stack

    stack = start_local_stack(routes_dir, root or routes_dir.resolve().parent, start_seeded_sandbox())
    for report in stack.passes:
        click.echo(f"pass: {report.outcome.value}, {len(report.applied)} change(s) applied")
    if not stack.converged:
        stack.stop()
        click.echo("reconciler: the route files did not converge in the sandbox", err=True)
        raise SystemExit(EXIT_FAILED)
    return stack


def _default_origin(endpoint_url: str | None) -> str:
    from reconciler.sandbox.seed import DEFAULT_ORIGIN_ID, ORIGINS

    if endpoint_url is None:
        return ORIGINS[DEFAULT_ORIGIN_ID]
    from reconciler.edge.sandbox_state import SandboxState

    distribution = SandboxState(endpoint_url, ttl=0).distribution()
    default_id = distribution.config["DefaultCacheBehavior"]["TargetOriginId"]
    return distribution.origins()[default_id].domain_name
