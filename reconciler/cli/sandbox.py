"""`reconciler sandbox`: the emulated AWS on 127.0.0.1, seeded, until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import os
import shlex
import signal
import threading
from types import FrameType

import click
import structlog

# Dummy credentials: the sandbox accepts any, and a client pointed at it must never sign
# with a developer's real ones.
SANDBOX_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
REGION = "us-east-1"


@click.command(name="sandbox")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=4566,
    show_default=True,
    help="TCP port on 127.0.0.1; 0 picks a free one (printed in AWS_ENDPOINT_URL).",
)
@click.option(
    "--seed/--no-seed",
    default=True,
    show_default=True,
    help="Create what the blog's console steps create by hand (IAM role, distribution).",
)
@click.option(
    "--edge-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also serve a local CloudFront edge on this port (0 = a free one), with an echo "
    "backend per origin domain the sandbox's state mentions (docs/local-edge.md). Needs --seed.",
)
def command(port: int, seed: bool, edge_port: int | None) -> None:
    """Start the embedded emulated AWS on 127.0.0.1, seeded like the seed's console steps.

    Prints the environment a client needs as `export` lines on stdout (eval-able), then
    serves until SIGINT or SIGTERM. Faults and call counts: see /_sandbox/ on the endpoint.
    With --edge-port, RECONCILER_EDGE_URL is the edge: after `reconciler apply`, the
    walkthrough's curl requests work against it (and `reconciler smoke` checks them).
    """
    from reconciler.aws.clients import AwsTarget
    from reconciler.sandbox.seed import seed as run_seed
    from reconciler.sandbox.server import SandboxServer

    log = structlog.get_logger("reconciler.sandbox")
    # One line per request from werkzeug would drown the daemon's own logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.update(SANDBOX_ENV)
    os.environ.pop("AWS_PROFILE", None)

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("sandbox.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if edge_port is not None and not seed:
        raise click.UsageError("--edge-port needs the seeded distribution: drop --no-seed")
    # A port in use: werkzeug says so on stderr and exits with status 1.
    server = SandboxServer(port=port, run_functions=True).start()
    edge = None
    try:
        env = {
            "AWS_ENDPOINT_URL": server.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            **SANDBOX_ENV,
        }
        if seed:
            result = run_seed(AwsTarget(region=REGION, endpoint_url=server.endpoint_url))
            env["SANDBOX_DISTRIBUTION_ID"] = result.distribution_id
            env["SANDBOX_EDGE_ROLE_ARN"] = result.role_arn
            log.info("sandbox.seeded", created=list(result.created))
        if edge_port is not None:
            from reconciler.edge import start_local_edge

            try:
                edge = start_local_edge(server.endpoint_url, edge_port)
            except OSError as exc:  # the port is taken
                raise click.ClickException(
                    f"cannot serve the edge on port {edge_port}: {exc}"
                ) from exc
            env["RECONCILER_EDGE_URL"] = edge.url
        for name, value in env.items():
            click.echo(f"export {name}={shlex.quote(value)}")
        click.echo(f"# serving on {server.endpoint_url}; stop with Ctrl-C or SIGTERM", err=True)
        log.info("sandbox.ready", endpoint=server.endpoint_url)
        while not stop.wait(0.5):
            pass
    finally:
        if edge is not None:
            edge.stop()
        server.stop()
    log.info("sandbox.stopped")
