"""Secrets stay out of the logs, and the daemon needs neither root nor a writable repo.

Distinctive fake credentials (access key id, secret key, session token, a git URL with a
token) and route files whose values are distinctive; `reconciler apply` and the daemon
(`reconciler run`, JSON logs at debug level) run as subprocesses against the emulated AWS;
no credential and no route value may appear in any log line. The plan that `apply` prints
on stdout shows values by design (it is what an operator reviews before approving): values
are checked against the log stream (stderr), credentials against both streams.

The daemon runs as uid/gid 65534 (nobody) with HOME in a scratch dir and the route files
in a root-owned read-only copy: it must converge, serve /readyz and stop cleanly, writing
nowhere but its state dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.sandbox.seed import seed
from tests.reliability.crash import REPO
from tests.support.daemon import daemon_command

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIADONTLOGKEYID7731",
    "AWS_SECRET_ACCESS_KEY": "SECRETdontLOG7f3a9Qz",
    "AWS_SESSION_TOKEN": "TOKENdontLOG91bcXy",
}
GIT_TOKEN = "ghpTOKENdontLOG4455"
KVS_VALUE = "zz-tier-value-9921.example.com"
ITEM_VALUE = "zz-item-value-4471.example.com"
NOBODY = 65534


def _repo_with_values(dest: Path) -> Path:
    shutil.copytree(REPO / "routes", dest / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        dest / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    tiers = dest / "routes/tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace("premium: premium-api.example.com", f"premium: {KVS_VALUE}")
    )
    with (dest / "routes/tenants/sample.jsonl").open("a") as f:
        f.write(
            json.dumps({"tenantId": "zz", "accountId": "1", "defaultBackend": ITEM_VALUE}) + "\n"
        )
    return dest


def _env(endpoint: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_", "XDG_"))}
    env.update(SECRETS)
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        HOME=str(home),
        PYTHONPATH=str(REPO),
        PYTHONDONTWRITEBYTECODE="1",
        AWS_ENDPOINT_URL=endpoint,
    )
    return env


def _leaks(text: str, values: bool) -> list[str]:
    wanted = [*SECRETS.values(), GIT_TOKEN] + ([KVS_VALUE, ITEM_VALUE] if values else [])
    return [w for w in wanted if w in text]


@pytest.fixture
def seeded_endpoint(aws: Any, function_runner: None) -> str:
    """The walkthrough's account; TestFunction runs the code (the gate needs its answer)."""
    seed(AwsTarget(endpoint_url=aws.endpoint_url))
    return str(aws.endpoint_url)


def test_apply_logs_no_credentials_and_no_values(seeded_endpoint: str, tmp_path: Path) -> None:
    repo = _repo_with_values(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "apply",
            "--auto-approve",
            "--routes-dir",
            str(repo / "routes"),
            "--root",
            str(repo),
        ],
        env=_env(seeded_endpoint, home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert KVS_VALUE in out.stdout  # the plan shown for approval: values are what is reviewed
    log_lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert any('"change_applied"' in line for line in log_lines)  # the log does say what changed
    assert _leaks(out.stdout, values=False) == []
    assert [
        (line, _leaks(line, values=True)) for line in log_lines if _leaks(line, values=True)
    ] == []


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A scratch dir others can enter (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="reliability-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _wait_for_event(
    log: Path, proc: subprocess.Popen[bytes], event: str, timeout: float, **fields: Any
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                e = json.loads(line)
                if e.get("event") == event and all(e.get(k) == v for k, v in fields.items()):
                    return dict(e)
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)  # polling the daemon's log file from outside
    raise AssertionError(f"no {event} {fields} within {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop to nobody",
)
def test_daemon_runs_as_nobody_on_a_read_only_repo_and_logs_no_secrets(
    seeded_endpoint: str, scratch: Path
) -> None:
    repo = _repo_with_values(scratch / "repo")
    for p in [repo, *repo.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)  # root-owned and read-only: nobody cannot write
    home, state = scratch / "home", scratch / "state"
    for d in (home, state):
        d.mkdir()
        os.chown(d, NOBODY, NOBODY)
    before = _tree_digest(repo)
    log = scratch / "daemon.log"
    with log.open("w") as sink:
        # Not DaemonProcess: stdout is checked for leaks too, so it goes to the same log.
        proc = subprocess.Popen(
            daemon_command(
                "--routes-dir",
                str(repo / "routes"),
                "--root",
                str(repo),
                "--endpoint-url",
                seeded_endpoint,
                "--http-port",
                "0",
                "--state-dir",
                str(state),
                "--resync-interval",
                "0",
                log_level="debug",
                prefix=("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"),
            ),
            cwd=home,
            env=_env(seeded_endpoint, home),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            started = _wait_for_event(log, proc, "daemon.started", 60)
            _wait_for_event(log, proc, "pass.finished", 60, outcome="applied")
            with urllib.request.urlopen(started["http_url"] + "/readyz", timeout=5) as ready:
                assert ready.status == 200
            for path in ("/status", "/metrics"):  # what the daemon shows is checked too
                with urllib.request.urlopen(started["http_url"] + path, timeout=5) as page:
                    assert _leaks(page.read().decode(), values=True) == [], path
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    text = log.read_text()
    assert [line for line in text.splitlines() if _leaks(line, values=True)] == []
    assert _tree_digest(repo) == before
    written = sorted(
        str(p.relative_to(scratch))
        for p in scratch.rglob("*")
        if p.is_file() and p.stat().st_uid == NOBODY
    )
    assert all(w.startswith(("state/", "home/")) for w in written), written


def test_a_git_url_token_never_reaches_the_log(scratch: Path, seeded_endpoint: str) -> None:
    """The first clone fails (nothing listens there): the daemon exits 1 and says why,
    with the URL masked, in its own log lines and in git's error text it relays."""
    home = scratch / "home"
    home.mkdir()
    out = subprocess.run(
        daemon_command(
            "--git-url",
            f"http://gituser:{GIT_TOKEN}@127.0.0.1:9/routes.git",
            "--git-dir",
            str(scratch / "checkout"),
            "--http-port",
            "0",
            "--state-dir",
            str(scratch / "state"),
            log_level="debug",
        ),
        env={**_env(seeded_endpoint, home), "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    assert "127.0.0.1:9" in out.stdout + out.stderr  # it did report the failing source
    assert _leaks(out.stdout + out.stderr, values=False) == []
