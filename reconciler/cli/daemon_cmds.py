"""`reconciler status | suspend | resume | reconcile [--wait]`: a client of a running daemon.

`reconcile --wait`, precisely: POST /reconcile answers with a request id (the daemon's
requests are numbered 1, 2, ...; with the built-in git source the pass is requested once
a fetch has finished). A pass takes up every request pending when it starts, and /status
`requests.lastHandled` is the highest id a *finished* pass took up. The client polls
/status until `lastHandled >= id`: the pass that ran after the request (and the fetch)
has finished. Its outcome is the exit code: 0 applied / no_changes / planned (dry-run),
1 failed / invalid / refused, 3 the daemon is unreachable, refuses the token, or will not
run a pass (suspended, or a follower without the lease), 4 timed out.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from reconciler.cli.daemon_client import (
    EXIT_NOT_OK,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
    DaemonClient,
    client_options,
    make_client,
)
from reconciler.cli.status_text import render_pass, render_status

GOOD = frozenset({"applied", "no_changes", "planned"})
POLL_SECONDS = 0.25


@click.command(name="status")
@client_options
@click.option("--json", "as_json", is_flag=True, help="Print /status as JSON.")
def status(url: str | None, token_file: Path | None, http_timeout: float, as_json: bool) -> None:
    """Show a running daemon's conditions, revision, last pass, plan, error, drift.

    Exit 0 when Ready is True, 1 when it is not, 3 when the daemon cannot be reached.
    """
    client = make_client(url, token_file, http_timeout)
    body = client.get("/status")
    click.echo(json.dumps(body, indent=2) if as_json else render_status(body, client.url))
    ready: dict[str, Any] = next(
        (c for c in body.get("conditions", []) if c.get("type") == "Ready"), {}
    )
    raise SystemExit(EXIT_OK if ready.get("status") == "True" else EXIT_NOT_OK)


@click.command(name="suspend")
@client_options
def suspend(url: str | None, token_file: Path | None, http_timeout: float) -> None:
    """Suspend reconciling (POST /suspend; writes the daemon's suspend flag file)."""
    answer = make_client(url, token_file, http_timeout).post("/suspend")
    click.echo(f"suspended (flag file {answer.get('flag')}); `reconciler resume` to go on")


@click.command(name="resume")
@client_options
def resume(url: str | None, token_file: Path | None, http_timeout: float) -> None:
    """Resume reconciling (POST /resume); one pass catches up with what changed."""
    make_client(url, token_file, http_timeout).post("/resume")
    click.echo("resumed; a pass runs now")


@click.command(name="reconcile")
@client_options
@click.option(
    "--wait/--no-wait",
    default=False,
    help="Wait until the pass that took up this request has finished; exit by its outcome.",
)
@click.option(
    "--wait-timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds --wait waits at most (exit 4 beyond).",
)
def reconcile(
    url: str | None, token_file: Path | None, http_timeout: float, wait: bool, wait_timeout: float
) -> None:
    """Run a pass now (POST /reconcile); with the built-in git source, fetch first.

    \b
    Exit codes with --wait:
      0  the pass applied, found nothing to do, or planned (dry-run)
      1  the pass failed, the route files are invalid, or the plan was refused
      3  the daemon cannot be reached, refused the token, is suspended, or is a follower
      4  --wait-timeout passed first
    """
    client = make_client(url, token_file, http_timeout)
    answer = client.post("/reconcile")
    request_id = answer.get("requestId")
    fetch = " after fetching the git source" if answer.get("fetch") else ""
    click.echo(f"request {request_id} accepted: a pass runs{fetch}")
    if answer.get("suspended"):
        click.echo("the daemon is suspended: the request runs when it resumes", err=True)
        if wait:
            raise SystemExit(EXIT_UNREACHABLE)
    if answer.get("leader") is False:
        click.echo("this replica does not hold the lease: the leader runs the passes", err=True)
        if wait:
            raise SystemExit(EXIT_UNREACHABLE)
    if not wait:
        return
    handled = _wait_for(client, int(request_id), wait_timeout)
    if handled is None:
        click.echo(f"no pass took up request {request_id} within {wait_timeout:g}s", err=True)
        raise SystemExit(EXIT_TIMEOUT)
    body, requests = handled
    click.echo(render_pass(body, requests))
    raise SystemExit(EXIT_OK if requests.get("outcome") in GOOD else EXIT_NOT_OK)


def _wait_for(
    client: DaemonClient, request_id: int, timeout: float
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/status")
        requests = body.get("requests") or {}
        if (requests.get("lastHandled") or 0) >= request_id:
            return body, requests
        if body.get("suspended"):
            click.echo("the daemon was suspended while waiting", err=True)
            raise SystemExit(EXIT_UNREACHABLE)
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL_SECONDS)  # polling a remote daemon's status


COMMANDS = (status, suspend, resume, reconcile)
