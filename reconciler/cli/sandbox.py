"""`reconciler sandbox`: the emulated AWS on 127.0.0.1, seeded, until SIGINT/SIGTERM."""

from __future__ import annotations

import shlex
import signal
import threading
from types import FrameType

import click
import structlog

from reconciler.cli.sandbox_mode import use_emulator_credentials


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

    Prints the environment a client needs as `export` lines on stdout (eval-able): the
    endpoint, the emulator's credentials and region, and HTTP_PROXY, which lets every SDK
    (boto3, the AWS CLI, Go, JavaScript, Terraform) reach the KeyValueStore data plane
    (docs/sandbox.md). Then serves until SIGINT or SIGTERM. Faults, call counts and
    switches: see /_sandbox/ on the endpoint. With --edge-port, RECONCILER_EDGE_URL is
    the edge: after `reconciler apply`, the walkthrough's curl requests work against it
    (and `reconciler smoke` checks them). Needs Node (TestFunction runs real code).
    """
    from reconciler import sandbox

    log = structlog.get_logger("reconciler.sandbox")
    use_emulator_credentials()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("sandbox.stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if edge_port is not None and not seed:
        raise click.UsageError("--edge-port needs the seeded distribution: drop --no-seed")
    try:
        handle = sandbox.start(port=port, seed=seed)
    except sandbox.SandboxStartError as exc:
        raise click.ClickException(str(exc)) from exc
    edge = None
    try:
        env = dict(handle.env)
        if handle.seeded is not None:
            env["SANDBOX_DISTRIBUTION_ID"] = handle.seeded.distribution_id
            env["SANDBOX_EDGE_ROLE_ARN"] = handle.seeded.role_arn
            log.info("sandbox.seeded", created=list(handle.seeded.created))
        if edge_port is not None:
            from reconciler.edge import start_local_edge

            try:
                edge = start_local_edge(handle.endpoint_url, edge_port)
            except OSError as exc:  # the port is taken
                raise click.ClickException(
                    f"cannot serve the edge on port {edge_port}: {exc}"
                ) from exc
            env["RECONCILER_EDGE_URL"] = edge.url
        for name, value in env.items():
            click.echo(f"export {name}={shlex.quote(value)}")
        click.echo(f"# serving on {handle.endpoint_url}; stop with Ctrl-C or SIGTERM", err=True)
        log.info("sandbox.ready", endpoint=handle.endpoint_url)
        while not stop.wait(0.5):
            pass
    finally:
        if edge is not None:
            edge.stop()
        handle.stop()
    log.info("sandbox.stopped")
