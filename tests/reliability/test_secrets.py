"""Secrets stay out of the logs, and the daemon needs neither root nor a writable repo.

What is a secret: AWS credentials (access key id, secret key, session token), tokens (a
git URL's, the API token of the POST endpoints, a GitHub token of the notifications),
webhook secrets and signatures, notification URLs that carry a secret (a Slack webhook
URL), and presigned URLs (Lambda's GetFunction Code.Location). What is not: route values
(origins, tenants, backends, code hashes). They are in Git in plain text, and the logs,
/status and notifications show them on purpose so that an operator can see what changed
from what to what.

`reconciler apply` and the daemon (`reconciler run`, JSON logs at debug level) run as
subprocesses against the emulated AWS with distinctive fake secrets; none may appear on
stdout, stderr, /status or /metrics, while the route values must appear in the
`change.applied` lines (proof that the check reads the lines that matter).

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
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.daemon.auth import sign
from reconciler.sandbox.seed import seed
from tests.daemon.receiver import Receiver
from tests.support.daemon import daemon_command

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIADONTLOGKEYID7731",
    "AWS_SECRET_ACCESS_KEY": "SECRETdontLOG7f3a9Qz",
    "AWS_SESSION_TOKEN": "TOKENdontLOG91bcXy",
}
GIT_TOKEN = "ghpTOKENdontLOG4455"
API_TOKEN = "APITOKENdontLOG5521"
WEBHOOK_SECRET = "HOOKSECRETdontLOG8830"
GITHUB_TOKEN = "ghpNOTIFYdontLOG6612"
SLACK_PATH = "/services/T0/B0/SLACKPATHdontLOG2207"
KVS_VALUE = "zz-tier-value-9921.example.com"
ITEM_VALUE = "zz-item-value-4471.example.com"
NOBODY = 65534
# Every secret the runs below are given, besides the presigned URL found at run time.
NEVER = [*SECRETS.values(), GIT_TOKEN, API_TOKEN, WEBHOOK_SECRET, GITHUB_TOKEN, SLACK_PATH]


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


def _leaks(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    return [w for w in (*NEVER, *extra) if w in text]


def _presigned_location(endpoint: str) -> str:
    """GetFunction's Code.Location of the function the runs published: a presigned URL."""
    lam = make_client("lambda", AwsTarget(endpoint_url=endpoint))
    location = str(lam.get_function(FunctionName="tenant-router")["Code"]["Location"])
    assert location.startswith("http")
    return location


@pytest.fixture
def seeded_endpoint(aws: Any) -> str:
    """The session's emulated AWS, seeded, TestFunction executable (tests/conftest.py)."""
    seed(AwsTarget(endpoint_url=aws.endpoint_url))
    return str(aws.endpoint_url)


def test_apply_logs_values_but_no_credentials(seeded_endpoint: str, tmp_path: Path) -> None:
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
    applied = [json.loads(line) for line in log_lines if '"change.applied"' in line]
    # The log says what changed, from what to what: route values are not secrets.
    assert any(e.get("after") == KVS_VALUE for e in applied)
    assert any(ITEM_VALUE in json.dumps(e.get("after")) for e in applied)
    location = _presigned_location(seeded_endpoint)
    assert _leaks(out.stdout + out.stderr, (location,)) == []


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _secret_files(folder: Path, receiver_url: str, for_nobody: bool) -> Path:
    """The API token, the webhook secret and a notifications file with a Slack URL and a
    GitHub token, readable by nobody (as a mounted Secret would be)."""
    folder.mkdir()
    (folder / "api-token").write_text(API_TOKEN + "\n")
    (folder / "webhook-secret").write_text(WEBHOOK_SECRET + "\n")
    (folder / "slack-url").write_text(receiver_url + SLACK_PATH + "\n")
    (folder / "github-token").write_text(GITHUB_TOKEN + "\n")
    (folder / "notifications.yaml").write_text(
        f"""providers:
  - {{name: chat, type: slack, urlFile: {folder}/slack-url}}
  - {{name: gh, type: github, repository: o/r, tokenFile: {folder}/github-token, apiUrl: "{receiver_url}"}}
  - {{name: audit, type: webhook, url: "{receiver_url}/audit", secret: {WEBHOOK_SECRET}}}
alerts:
  - {{providers: [chat, audit], events: ["*"]}}
  - {{providers: [gh], events: [applied]}}
delivery: {{attempts: 1}}
"""
    )
    if for_nobody:
        for path in [folder, *folder.iterdir()]:
            os.chown(path, NOBODY, NOBODY)
    return folder


def _use_every_secret(url: str) -> None:
    """Wrong and right token, wrong and right webhook signature."""

    def post(path: str, headers: dict[str, str], body: bytes = b"") -> int:
        req = urllib.request.Request(url + path, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("/suspend", {"Authorization": f"Bearer {API_TOKEN}x"}) == 401
    assert post("/reconcile", {"Authorization": f"Bearer {API_TOKEN}"}) == 202
    body = b'{"ref": "refs/heads/main"}'
    wrong = sign(body, b"not-" + WEBHOOK_SECRET.encode())
    assert post("/hook/generic", {"X-Signature": wrong}, body) == 401
    assert post("/hook/generic", {"X-Signature": sign(body, WEBHOOK_SECRET.encode())}, body) == 202


def _nobody_can_start_python() -> bool:
    """The pass starts child interpreters (the test gate's emulated DynamoDB): nobody must
    be able to run this Python, not only be handed it by setpriv (a virtualenv whose
    interpreter lives under a 0700 /root passes the first exec and fails the second)."""
    probe = "import subprocess, sys; subprocess.run([sys.executable, '-c', '0'], check=True)"
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    out = subprocess.run([*command, sys.executable, "-c", probe], capture_output=True, timeout=60)
    return out.returncode == 0


def _run_daemon(
    endpoint: str, scratch: Path, receiver: Receiver, as_nobody: bool
) -> tuple[str, str]:
    """The daemon converges, every secret is used once (wrong and right), /status and
    /metrics are checked; returns (the whole log, the presigned URL to look for)."""
    repo = scratch / "repo"
    home, state = scratch / "home", scratch / "state"
    for d in (home, state):
        d.mkdir()
        if as_nobody:
            os.chown(d, NOBODY, NOBODY)
    secrets_dir = _secret_files(scratch / "secrets", receiver.url, as_nobody)
    prefix = (
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if as_nobody else []
    )
    log = scratch / "daemon.log"
    with log.open("w") as sink:
        # Not DaemonProcess: stdout is checked for leaks too, so it goes to the same log.
        proc = subprocess.Popen(
            [
                *prefix,
                sys.executable,
                "-m",
                "reconciler",
                "--log-format",
                "json",
                "--log-level",
                "debug",
                "run",
                "--routes-dir",
                str(repo / "routes"),
                "--root",
                str(repo),
                "--endpoint-url",
                endpoint,
                "--http-port",
                "0",
                "--state-dir",
                str(state),
                "--resync-interval",
                "0",
                "--api-token-file",
                str(secrets_dir / "api-token"),
                "--webhook-secret-file",
                str(secrets_dir / "webhook-secret"),
                "--notifications-file",
                str(secrets_dir / "notifications.yaml"),
            ],
            cwd=home,
            env=_env(endpoint, home),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            started = _wait_for_event(log, proc, "daemon.started", 60)
            _wait_for_event(log, proc, "pass.finished", 90, outcome="applied")
            url = started["http_url"]
            with urllib.request.urlopen(url + "/readyz", timeout=5) as ready:
                assert ready.status == 200
            _use_every_secret(url)
            _wait_for_event(log, proc, "pass.finished", 60, trigger="webhook")
            # Slack and the webhook (no commit status: the routes are not in a git work tree)
            receiver.wait(lambda got: len(got) >= 2)
            location = _presigned_location(endpoint)
            for path in ("/status", "/metrics"):  # what the daemon shows is checked too
                with urllib.request.urlopen(url + path, timeout=5) as page:
                    assert _leaks(page.read().decode(), (location,)) == [], path
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    return log.read_text(), location


def _assert_no_secret_logged(text: str, location: str) -> None:
    assert [line for line in text.splitlines() if _leaks(line, (location, "sha256="))] == []
    assert KVS_VALUE in text and ITEM_VALUE in text  # values are logged, secrets are not
    assert {"api.refused", "api.accepted", "webhook.rejected", "webhook.accepted"} <= {
        json.loads(line)["event"] for line in text.splitlines() if line.startswith("{")
    }


def test_the_daemon_logs_values_and_no_secret(
    seeded_endpoint: str, scratch: Path, receiver: Receiver
) -> None:
    _repo_with_values(scratch / "repo")
    text, location = _run_daemon(seeded_endpoint, scratch, receiver, as_nobody=False)
    _assert_no_secret_logged(text, location)
    # What left the process toward the receivers carried the values, not our secrets
    # (the GitHub token goes in its Authorization header, by design).
    bodies = b"".join(r.body for r in receiver.received).decode()
    assert KVS_VALUE in bodies
    assert [w for w in (*SECRETS.values(), API_TOKEN, WEBHOOK_SECRET, GITHUB_TOKEN) if w in bodies] == []


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop to nobody",
)
def test_daemon_runs_as_nobody_on_a_read_only_repo_and_logs_no_secrets(
    seeded_endpoint: str, scratch: Path, receiver: Receiver
) -> None:
    if not _nobody_can_start_python():
        pytest.skip(f"user {NOBODY} cannot start {sys.executable} (a parent directory is closed)")
    repo = _repo_with_values(scratch / "repo")
    for p in [repo, *repo.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)  # root-owned and read-only: nobody cannot write
    before = _tree_digest(repo)
    text, location = _run_daemon(seeded_endpoint, scratch, receiver, as_nobody=True)
    _assert_no_secret_logged(text, location)
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
    assert _leaks(out.stdout + out.stderr) == []
