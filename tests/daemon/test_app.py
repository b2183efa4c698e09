"""The daemon's shell in-process: HTTP endpoints, suspend flag, git source; and SIGTERM in a
subprocess. A scripted runner stands in for the pass (the e2e tests use the real one)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.daemon.app import Daemon
from reconciler.settings import DaemonSettings, redact_url
from tests.daemon.scripted import FileDigestRunner
from tests.support.git import git

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-api-token-0001"


def http(method: str, url: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(
        url, method=method, data=b"" if method == "POST" else None, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get_json(url: str) -> Any:
    code, body = http("GET", url)
    assert code == 200, body
    return json.loads(body)


def metric_values(text: str) -> dict[str, float]:
    """name{label=value,...} -> value, for every sample."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.stop(5)


def make(tmp_path: Path, daemons: list[Daemon], **settings: Any) -> tuple[Daemon, FileDigestRunner]:
    routes = tmp_path / "repo" / "routes"
    routes.mkdir(parents=True, exist_ok=True)
    (routes / "tiers.yaml").write_text("entries: {standard: a}\n")
    values = {
        "routes_dir": routes,
        "state_dir": tmp_path / "state",
        "http_port": 0,
        "debounce": 0.05,
        "resync_interval": 0,
        "api_token": TOKEN,
        **settings,
    }
    s = DaemonSettings(**values)
    runner = FileDigestRunner(s.resolved_routes_dir)
    daemon = Daemon(s, runner)
    daemons.append(daemon)
    daemon.start()
    return daemon, runner


def test_endpoints(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon, _ = make(tmp_path, daemons)
    assert daemon.worker.wait_for_passes(1, 5)
    assert daemon.http is not None
    url = daemon.http.url
    assert http("GET", f"{url}/healthz") == (200, "ok\n")
    assert http("GET", f"{url}/readyz") == (200, "serving (Ready=True/UpToDate)\n")
    status = get_json(f"{url}/status")
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "Reconciling": "False",
        "Stalled": "False",
    }
    assert all(c["lastTransitionTime"].endswith("Z") for c in status["conditions"])
    assert status["lastPass"]["outcome"] == "no_changes"
    assert status["suspended"] is False
    code, text = http("GET", f"{url}/metrics")
    assert code == 200
    values = metric_values(text)
    assert values["reconciler_passes_total{outcome=no_changes,trigger=startup}"] == 1
    assert values["reconciler_suspended{}"] == 0
    assert values["reconciler_last_success_timestamp_seconds{}"] > 0
    assert "reconciler_pass_duration_seconds_bucket{le=+Inf}" in values
    assert http("GET", f"{url}/nope")[0] == 404
    assert http("GET", f"{url}/suspend")[0] == 405


def test_suspend_over_http_and_with_the_flag_file(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon, _ = make(tmp_path, daemons)
    assert daemon.worker.wait_for_passes(1, 5)
    assert daemon.http is not None
    url = daemon.http.url
    assert http("POST", f"{url}/suspend")[0] == 202
    assert daemon.settings.suspend_flag.exists()
    (daemon.routes_dir / "tiers.yaml").write_text("entries: {standard: b}\n")
    assert not daemon.worker.wait_for_passes(2, 0.4)
    assert get_json(f"{url}/status")["suspended"] is True
    assert "reconciler_suspended 1.0" in http("GET", f"{url}/metrics")[1]
    assert http("POST", f"{url}/resume")[0] == 202
    assert daemon.worker.wait_for_passes(2, 5)  # catches up with the edit
    assert get_json(f"{url}/status")["lastPass"]["trigger"] == "resume"

    daemon.settings.suspend_flag.write_text("")  # `touch`, as an operator would
    assert wait_until(lambda: daemon.worker.suspended)
    daemon.settings.suspend_flag.unlink()
    assert wait_until(lambda: not daemon.worker.suspended)
    assert daemon.worker.wait_for_passes(3, 5)


def test_a_flag_file_present_at_start_keeps_the_daemon_suspended(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "suspend").write_text("")
    daemon, _ = make(tmp_path, daemons)
    assert not daemon.worker.wait_for_passes(1, 0.3)
    assert daemon.readyz() == (True, "serving (suspended)")
    assert daemon.status_json()["suspended"] is True


def test_edge_function_sources_are_watched_too(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon, _ = make(tmp_path, daemons)
    assert daemon.worker.wait_for_passes(1, 5)
    source = daemon.root / "edge_functions" / "tier_router" / "index.js"
    source.parent.mkdir(parents=True)  # created after start: picked up when it appears
    assert daemon.worker.wait_for_passes(2, 5)
    source.write_text("function handler(event) { return event.request; }\n")
    assert daemon.worker.wait_for_passes(3, 5)


def test_manual_reconcile(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon, _ = make(tmp_path, daemons)
    assert daemon.worker.wait_for_passes(1, 5)
    assert daemon.http is not None
    assert http("POST", f"{daemon.http.url}/reconcile")[0] == 202
    assert daemon.worker.wait_for_passes(2, 5)


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)  # polling an observable in a test, not synchronising production code
    return False




def bare_repo_with_routes(tmp_path: Path) -> tuple[Path, Path]:
    bare = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    author = tmp_path / "author"
    git("clone", "--quiet", str(bare), str(author), cwd=tmp_path)
    (author / "routes").mkdir()
    (author / "routes" / "tiers.yaml").write_text("entries: {standard: a}\n")
    git("add", "-A", cwd=author)
    git("commit", "--quiet", "-m", "first routes", cwd=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=author)
    return bare, author


def test_git_source_commits_drive_passes_and_revisions(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    bare, author = bare_repo_with_routes(tmp_path)
    s = DaemonSettings(
        git_url=str(bare),
        git_dir=tmp_path / "checkout",
        git_interval=0.2,
        state_dir=tmp_path / "state",
        http_port=0,
        debounce=0.05,
        resync_interval=0,
        api_token=TOKEN,
    )
    runner = FileDigestRunner(s.resolved_routes_dir)
    daemon = Daemon(s, runner)
    daemons.append(daemon)
    daemon.start()
    first = git("rev-parse", "HEAD", cwd=author)
    assert daemon.worker.wait_for_passes(1, 5)
    status = daemon.status_json()
    assert status["lastAppliedRevision"] == {
        "revision": first,
        "sha": first,
        "subject": "first routes",
        "dirty": False,
    }

    (author / "routes" / "tiers.yaml").write_text("entries: {standard: b}\n")
    git("commit", "--quiet", "-am", "standard moves to b", cwd=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=author)
    second = git("rev-parse", "HEAD", cwd=author)
    assert wait_until(
        lambda: (daemon.status_json()["lastAppliedRevision"] or {}).get("sha") == second, 10
    )
    assert daemon.status_json()["lastAttemptedRevision"]["subject"] == "standard moves to b"
    assert runner.seen[-1] != runner.seen[0]
    text = daemon.metrics.render().decode()
    assert f'reconciler_revision_info{{revision="{second}",state="applied"}} 1.0' in text
    assert first not in text


def test_git_clone_failure_is_reported_with_redacted_url(tmp_path: Path) -> None:
    from reconciler.daemon.git_source import GitSource, GitSyncError

    source = GitSource("https://user:s3cret@127.0.0.1:9/x.git", "main", tmp_path / "co", 1)
    with pytest.raises(GitSyncError) as err:
        source.sync()
    assert "s3cret" not in str(err.value)


def test_a_first_clone_that_failed_is_not_a_checkout_to_fall_back_on(tmp_path: Path) -> None:
    """The failed fetch leaves an empty repository (`.git`) behind; the daemon must still
    refuse to start (exit 1) instead of reconciling a folder without route files."""
    from reconciler.daemon.git_source import GitSyncError

    s = DaemonSettings(
        git_url="http://127.0.0.1:9/x.git",
        git_dir=tmp_path / "checkout",
        state_dir=tmp_path / "state",
        http_port=0,
    )
    daemon = Daemon(s, FileDigestRunner(s.resolved_routes_dir), http=False)
    with pytest.raises(GitSyncError):
        daemon.start()
    assert (tmp_path / "checkout" / ".git").exists()
    assert daemon.git is not None and not daemon.git.has_checkout()
    bare, _ = bare_repo_with_routes(tmp_path)
    from reconciler.daemon.git_source import GitSource

    good = GitSource(str(bare), "main", tmp_path / "good", 1)
    good.sync()
    assert good.has_checkout()


def test_settings_from_environment_and_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_RESYNC_INTERVAL", "2m")
    monkeypatch.setenv("RECONCILER_DEBOUNCE", "150ms")
    monkeypatch.setenv("RECONCILER_SELF_HEAL", "false")
    monkeypatch.setenv("RECONCILER_GIT_URL", "https://bot:ghp_token@github.example/org/routes.git")
    monkeypatch.setenv("RECONCILER_GIT_DIR", "/tmp/routes-checkout")
    s = DaemonSettings(http_port=9000)  # flags (init values) win over the environment
    assert (s.resync_interval, s.debounce, s.self_heal, s.http_port) == (120, 0.15, False, 9000)
    assert s.resolved_routes_dir == Path("/tmp/routes-checkout/routes")
    assert s.redacted()["git_url"] == "https://***@github.example/org/routes.git"
    assert redact_url("http://h/x?token=abc&b=1") == "http://h/x?token=***&b=1"


def test_sigterm_during_a_pass_finishes_it_and_exits_0(tmp_path: Path) -> None:
    routes, state = tmp_path / "routes", tmp_path / "state"
    routes.mkdir()
    state.mkdir()
    (routes / "a.yaml").write_text("a: 1\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.daemon.scripted_daemon", str(routes), str(state), "1.0"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(lambda: (state / "pass-1-started").exists(), 20)
        proc.send_signal(signal.SIGTERM)
        (routes / "a.yaml").write_text("a: 2\n")  # after SIGTERM: must not start a pass
        code = proc.wait(15)
        stderr = proc.stderr.read() if proc.stderr else ""
        assert code == 0, stderr
        assert (state / "pass-1-finished").exists()
        assert not (state / "pass-2-started").exists()
        events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
        assert events[-1] == "daemon.stopped"
        assert events.index("daemon.stopping") < events.index("pass.finished")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
