"""`reconciler run`: the daemon. Flags override RECONCILER_* environment variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import structlog
from pydantic import ValidationError

from reconciler.settings import DaemonSettings

log = structlog.get_logger("reconciler.daemon")

_DURATION = "DURATION"  # 300ms, 15s, 5m, 1h or plain seconds


def _opt(*names: str, **kwargs: Any) -> Callable[[Any], Any]:
    # Every default lives in DaemonSettings: a flag left out must not hide the env var.
    return click.option(*names, default=None, show_default=False, **kwargs)


@click.command(name="run")
@_opt(
    "--routes-dir",
    type=click.Path(path_type=Path),
    help="Route files. [env RECONCILER_ROUTES_DIR; default routes]",
)
@_opt(
    "--root",
    type=click.Path(path_type=Path),
    help="Repository root holding edge_functions/. [default: routes dir's parent]",
)
@_opt("--region", help="AWS region of the table and the store. [default us-east-1]")
@_opt("--endpoint-url", help="AWS endpoint override (an emulated AWS).")
@_opt("--dry-run/--no-dry-run", help="Plan and report every pass, never write.")
@_opt("--self-heal/--no-self-heal", help="Undo drift found by resync passes. [default on]")
@_opt("--allow-mass-delete/--no-allow-mass-delete", help="Let prunes delete beyond the guard.")
@_opt(
    "--env",
    help="Environment: ROOT/environments/NAME.yaml gives the route files' ${VARIABLE} values "
    "(RECONCILER_VAR_<NAME> fills names it leaves open). [default: none]",
)
@_opt("--resync-interval", metavar=_DURATION, help="Full pass this often (0: never). [default 5m]")
@_opt("--debounce", metavar=_DURATION, help="Quiet time after file events. [default 300ms]")
@_opt(
    "--debounce-max", metavar=_DURATION, help="Longest wait during a stream of events. [default 2s]"
)
@_opt(
    "--backoff-min", metavar=_DURATION, help="First retry delay after a failed pass. [default 1s]"
)
@_opt("--backoff-max", metavar=_DURATION, help="Retry delay cap. [default 5m]")
@_opt(
    "--shutdown-timeout",
    metavar=_DURATION,
    help="SIGTERM waits this long for the running pass. [default 2m]",
)
@_opt(
    "--http-host",
    help="Listen address of /healthz, /readyz, /metrics, /status. [default 127.0.0.1]",
)
@_opt("--http-port", type=int, help="Listen port (0: any free port). [default 8080]")
@_opt(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Holds the `suspend` flag file. [default ~/.local/state/reconciler]",
)
@_opt(
    "--api-token-file",
    type=click.Path(path_type=Path),
    help="File holding the token POST /suspend, /resume, /reconcile require (or env "
    "RECONCILER_API_TOKEN). Without one those endpoints are refused.",
)
@_opt(
    "--webhook-secret-file",
    type=click.Path(path_type=Path),
    help="File holding the secret of POST /hook/github|gitlab|generic (or env "
    "RECONCILER_WEBHOOK_SECRET). Without one webhooks are off.",
)
@_opt(
    "--notifications-file",
    type=click.Path(path_type=Path),
    help="YAML/JSON file of notification providers and which events go to each.",
)
@_opt(
    "--progress-interval",
    metavar=_DURATION,
    help="Log pass.progress this often while a pass runs (0: never). [default 10s]",
)
@_opt("--git-url", help="Built-in git source: clone/fetch this repository.")
@_opt("--git-branch", help="Branch of the git source. [default main]")
@_opt("--git-interval", metavar=_DURATION, help="Fetch this often. [default 15s]")
@_opt("--git-dir", type=click.Path(path_type=Path), help="Work tree of the git source.")
@_opt(
    "--leader-election/--no-leader-election",
    help="Several replicas: only the holder of a DynamoDB lease runs passes. [default off]",
)
@_opt(
    "--lease-table",
    help="DynamoDB table of the leases, created on demand. [default reconciler-leases]",
)
@_opt(
    "--lease-name",
    help="Lease item shared by rival replicas. [default: derived from region + routes source]",
)
@_opt(
    "--lease-duration",
    metavar=_DURATION,
    help="Lease validity; renewed every third, a leader stops starting passes after two thirds "
    "without renewal. [default 15s]",
)
@_opt(
    "--sandbox/--no-sandbox",
    help="Start the embedded emulated AWS, seeded, and reconcile against it.",
)
@_opt("--sandbox-port", type=int, help="Port of the embedded emulated AWS (0: any free port).")
@_opt(
    "--sandbox-edge-port",
    type=int,
    help="With --sandbox: serve a local edge (the distribution's functions over the emulated "
    "state, proxying to local origin backends) on this port.",
)
@click.pass_context
def command(ctx: click.Context, /, **flags: Any) -> None:
    """Run the reconciler daemon: watch the route files, reconcile on change and periodically.

    Every option can also be set as an environment variable: RECONCILER_ and the option
    name in capitals with underscores (--resync-interval -> RECONCILER_RESYNC_INTERVAL).
    Suspend without a restart: `touch STATE_DIR/suspend` or POST /suspend.
    """
    given = {k: v for k, v in flags.items() if v is not None}
    parent = ctx.parent.params if ctx.parent is not None else {}
    for key in ("log_format", "log_level"):  # options of the `reconciler` group
        if parent.get(key):
            given[key] = parent[key]
    try:
        settings = DaemonSettings(**given)
    except ValidationError as exc:
        raise click.UsageError(_validation_message(exc)) from exc

    log.info("daemon.configured", **settings.redacted())
    from reconciler.aws.clients import AwsTarget
    from reconciler.cli.sandbox_mode import start_sandbox
    from reconciler.daemon.app import LEDGER_FILE, Daemon, serve
    from reconciler.daemon.auth import SecretError
    from reconciler.daemon.git_source import GitSyncError
    from reconciler.daemon.notify import NotificationConfigError

    sandbox = start_sandbox(settings.sandbox_port, settings.region) if settings.sandbox else None
    edge = None
    if sandbox is not None and settings.sandbox_edge_port is not None:
        from reconciler.edge import start_local_edge

        edge = start_local_edge(sandbox.endpoint_url, settings.sandbox_edge_port)
    target = (
        sandbox.target
        if sandbox is not None
        else AwsTarget(region=settings.region, endpoint_url=settings.endpoint_url)
    )
    runner, clients = _runner(settings, target, settings.state_dir / LEDGER_FILE)
    lease = _lease_table(settings, target) if settings.leader_election else None

    def stop_extras() -> None:
        if edge is not None:
            edge.stop()
        if sandbox is not None:
            sandbox.stop()

    try:
        daemon = Daemon(settings, runner, lease=lease, aws_clients=clients)
    except (SecretError, NotificationConfigError) as exc:
        stop_extras()
        for line in str(exc).splitlines():
            log.error("daemon.config_invalid", problem=line)
        raise click.UsageError(str(exc)) from exc
    except OSError as exc:  # e.g. the HTTP port is taken
        log.error(
            "daemon.http_failed", host=settings.http_host, port=settings.http_port, error=str(exc)
        )
        stop_extras()
        raise SystemExit(1) from exc

    def started(d: Daemon) -> None:
        status_url = f"{d.http.url}/status" if d.http else None
        log.info(
            "daemon.started",
            routes_dir=str(d.routes_dir),
            http_url=d.http.url if d.http else None,
            status_url=status_url,
            sandbox_url=sandbox.endpoint_url if sandbox else None,
            edge_url=edge.url if edge else None,
            suspended=d.worker.suspended,
            api_token=d.api_token.source,
            webhooks=d.webhooks is not None,
        )
        # For people at a terminal; a container's JSON log has it all in daemon.started.
        fmt = settings.log_format
        if fmt == "console" or (fmt == "auto" and sys.stderr.isatty()):
            _banner(d, sandbox.endpoint_url if sandbox else None, edge.url if edge else None)

    try:
        code = serve(daemon, settings.shutdown_timeout, on_started=started)
    except GitSyncError as exc:
        log.error("git.clone_failed", error=str(exc))
        code = 1
    finally:
        if edge is not None:
            edge.stop()
        if sandbox is not None:
            sandbox.stop()
    raise SystemExit(code)


def _runner(settings: DaemonSettings, target: Any, ledger_path: Path) -> tuple[Any, list[Any]]:
    """The engine with the daemon's settings, as the worker calls it, and its boto3
    clients (the daemon counts their calls)."""
    from reconciler.engine import EngineSettings, FileLedger, Reconciler, Scope

    settings.state_dir.mkdir(parents=True, exist_ok=True)
    engine = Reconciler(
        settings.resolved_routes_dir,
        settings.resolved_root,
        target,
        settings=EngineSettings(
            allow_mass_delete=settings.allow_mass_delete,
            environment=settings.env,
            environ=dict(os.environ),
        ),
        ledger=FileLedger(ledger_path),
    )

    def run(dry_run: bool, *, confirm: Any = None, changed_only: bool = False) -> Any:
        return engine.run_pass(
            dry_run,
            heal_drift=settings.self_heal,
            confirm=confirm,
            scope=Scope.CHANGED if changed_only else Scope.FULL,
        )

    return run, engine.adapters.clients()


def _lease_table(settings: DaemonSettings, target: Any) -> Any:
    from reconciler.daemon.leader import LeaseTable, default_lease_name, holder_identity

    name = settings.lease_name or default_lease_name(*settings.lease_key)
    lease = LeaseTable(target, settings.lease_table, name, holder_identity())
    log.info("leader.configured", table=lease.table, lease=name, holder=lease.holder)
    return lease


def _banner(daemon: Any, sandbox_url: str | None, edge_url: str | None = None) -> None:
    http = daemon.http.url if daemon.http else "(no HTTP endpoint)"
    lines = [
        "",
        "  reconciler is running"
        + (" in DRY-RUN mode (nothing is written)" if daemon.settings.dry_run else ""),
        f"    route files     {daemon.routes_dir}   (edit one: a pass follows within a second)",
        f"    status          curl -s {http}/status",
        f"    metrics         curl -s {http}/metrics",
        f"    client          reconciler status | suspend | resume | reconcile --wait   (--url {http})",
        f"    suspend (file)  touch {daemon.settings.suspend_flag}",
    ]
    if sandbox_url:
        lines += [
            f"    emulated AWS    {sandbox_url}   (any credentials work; e.g.",
            f"                    aws --endpoint-url {sandbox_url} cloudfront list-key-value-stores)",
        ]
    if edge_url:
        lines += [
            f"    local edge      curl -s '{edge_url}/pets?CTIER=premium'",
            f"                    curl -s -XPOST {edge_url}/tenant/orders -d "
            "'{\"tenantId\": \"acme\", \"accountId\": \"1001\"}'",
        ]
    lines += ["    stop            Ctrl-C (the running pass finishes first)", ""]
    click.echo("\n".join(lines), err=True)
    sys.stderr.flush()


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
