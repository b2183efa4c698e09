"""`reconciler status | suspend | resume | reconcile [--wait]` against a running daemon's
HTTP API (in-process daemon, scripted passes; the CLI through click's runner): what they
print, the token lookup, and the exit codes."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.core.errors import ErrorClass
from reconciler.daemon.app import Daemon, api_token
from reconciler.daemon.revision import Revision
from reconciler.engine.report import Outcome
from reconciler.settings import DaemonSettings
from tests.daemon.scripted import ScriptedRunner, report

TOKEN = "client-test-token-42"


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.worker.stop()
        d.stop(5)


def make(
    tmp_path: Path, daemons: list[Daemon], runner: ScriptedRunner, **settings: Any
) -> tuple[Daemon, str]:
    routes = tmp_path / "routes"
    routes.mkdir(exist_ok=True)
    s = DaemonSettings(
        routes_dir=routes,
        state_dir=tmp_path / "state",
        http_port=0,
        debounce=0.05,
        resync_interval=0,
        backoff_min=0.05,
        backoff_max=0.1,
        api_token=TOKEN,
        **settings,
    )
    daemon = Daemon(s, runner)
    daemon.worker._revision_of = lambda: Revision("f" * 40, "premium moves to gold")
    daemons.append(daemon)
    daemon.start()
    assert daemon.worker.wait_for_passes(1, 5)
    assert daemon.http is not None
    return daemon, daemon.http.url


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    environment = {"RECONCILER_API_TOKEN": TOKEN, "RECONCILER_URL": "", **(env or {})}
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


def test_status_reads_like_a_person_wants_it(tmp_path: Path, daemons: list[Daemon]) -> None:
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 2))
    _, url = make(tmp_path, daemons, runner)
    result = cli("status", "--url", url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Ready       True    Applied" in out
    assert "applied     ffffffffffffffffff 'premium moves to gold'" in out
    assert "#1 applied (startup)" in out
    assert "update kvs_entry.tier-origins['k0']: \"old\" -> \"new\"" in out
    as_json = json.loads(cli("status", "--url", url, "--json").output)
    assert as_json["lastPass"]["outcome"] == "applied"


def test_status_exits_1_when_not_ready_and_3_when_unreachable(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    runner = ScriptedRunner(
        script=lambda i, dry: report(Outcome.INVALID, errors=("routes/a.yaml:1:1: x: bad [c]",))
    )
    _, url = make(tmp_path, daemons, runner)
    result = cli("status", "--url", url)
    assert result.exit_code == 1
    assert "InvalidRouteFiles" in result.output and "routes/a.yaml:1:1" in result.output
    gone = cli("status", "--url", "http://127.0.0.1:9")
    assert gone.exit_code == 3 and "cannot reach the daemon" in gone.output


def test_suspend_and_resume_with_the_token_from_env_or_file(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    daemon, url = make(tmp_path, daemons, ScriptedRunner())
    result = cli("suspend", "--url", url)
    assert result.exit_code == 0 and daemon.worker.suspended
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = cli("resume", "--url", url, "--token-file", str(token_file), env={"RECONCILER_API_TOKEN": ""})
    assert result.exit_code == 0 and not daemon.worker.suspended
    wrong = cli("suspend", "--url", url, env={"RECONCILER_API_TOKEN": "nope"})
    assert wrong.exit_code == 3 and "HTTP 401" in wrong.output and not daemon.worker.suspended
    missing = cli("suspend", "--url", url, env={"RECONCILER_API_TOKEN": "", "RECONCILER_STATE_DIR": str(tmp_path / "none")})
    assert missing.exit_code == 3 and "no API token" in missing.output


def test_the_url_defaults_to_the_http_port(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon, _ = make(tmp_path, daemons, ScriptedRunner())
    assert daemon.http is not None
    result = cli("status", env={"RECONCILER_HTTP_PORT": str(daemon.http.port)})
    assert result.exit_code == 0 and f"127.0.0.1:{daemon.http.port}" in result.output


def test_reconcile_wait_returns_with_the_outcome_of_the_pass_it_requested(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    outcomes = [report(Outcome.NO_CHANGES), report(Outcome.APPLIED, 1)]
    outcomes.append(report(Outcome.FAILED, reason="AccessDenied", error_class=ErrorClass.FATAL, errors=("denied",)))
    runner = ScriptedRunner(script=lambda i, dry: outcomes[min(i, 2)])
    daemon, url = make(tmp_path, daemons, runner)
    result = cli("reconcile", "--url", url, "--wait")
    assert result.exit_code == 0, result.output
    assert "request 1 accepted" in result.output and "#2 applied (manual)" in result.output
    result = cli("reconcile", "--url", url, "--wait")
    assert result.exit_code == 1 and "#3 failed" in result.output and "denied" in result.output
    assert daemon.status.snapshot()["requests"]["lastHandled"] == 2
    no_wait = cli("reconcile", "--url", url)
    assert no_wait.exit_code == 0 and "request 3 accepted" in no_wait.output


def test_reconcile_wait_when_nothing_will_run_or_it_takes_too_long(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    gate = threading.Event()
    gate.set()
    runner = ScriptedRunner(gate=gate)
    _, url = make(tmp_path, daemons, runner)
    assert cli("suspend", "--url", url).exit_code == 0
    suspended = cli("reconcile", "--url", url, "--wait")
    assert suspended.exit_code == 3 and "suspended" in suspended.output
    gate.clear()  # the pass that resume starts hangs until the test opens the gate
    assert cli("resume", "--url", url).exit_code == 0
    slow = cli("reconcile", "--url", url, "--wait", "--wait-timeout", "0.5")
    assert slow.exit_code == 4 and "within 0.5s" in slow.output
    gate.set()


def test_a_sandbox_daemon_generates_a_token_the_client_finds(tmp_path: Path) -> None:
    settings = DaemonSettings(sandbox=True, state_dir=tmp_path / "state")
    secret = api_token(settings)
    path = settings.generated_token_file
    assert secret.configured and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert api_token(settings).get() == secret.get()  # a restart keeps it
    from reconciler.cli.daemon_client import find_token

    with pytest.MonkeyPatch.context() as mp:
        for name in ("RECONCILER_API_TOKEN", "RECONCILER_API_TOKEN_FILE"):
            mp.delenv(name, raising=False)
        mp.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
        assert find_token(None) == path.read_text().strip()
    plain = DaemonSettings(state_dir=tmp_path / "other")
    assert not api_token(plain).configured and not plain.generated_token_file.exists()
