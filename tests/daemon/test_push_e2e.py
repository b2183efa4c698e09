"""Push-triggered reconcile end to end: `reconciler run --sandbox` as a subprocess with the
built-in git source on a local bare repository (file:// URL) and a 10-minute fetch
interval, so only a webhook or a request can bring a new commit in.

A signed GitHub webhook moves the daemon to the pushed revision within seconds; a wrongly
signed one changes nothing; POST /reconcile (token required) fetches too (before, it ran
a pass on the old checkout); `reconciler reconcile --wait` returns when the pass for the
pushed commit has finished; every log line of a pass carries the revision; AWS calls and
throttles are counted per operation; the distribution's deployment status is reported; a
dirty work tree is reported as `<sha>-dirty`; no token, secret or signature is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from tests.support.daemon import REPO, DaemonProcess, repo_environment, wait_for
from tests.support.git import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="makes repositories with git")

API_TOKEN = "e2e-api-token-c0ffee"
HOOK_SECRET = "e2e-webhook-secret-beef"
STORE = "tier-origins"




def link_node_modules(dst: Path) -> None:
    for modules in (REPO / "edge_functions").glob("*/node_modules"):
        link = dst / modules.relative_to(REPO)
        if link.parent.is_dir() and not link.exists():
            link.symlink_to(modules)


def set_entry(routes: Path, key: str, value: str) -> None:
    path = routes / "tiers.yaml"
    text, n = re.subn(rf"(?m)^(\s+{key}:\s*)\S+$", rf"\g<1>{value}", path.read_text(), count=1)
    assert n == 1
    path.write_text(text)


@dataclass
class Pushed:
    daemon: DaemonProcess
    author: Path
    checkout: Path
    target: AwsTarget

    def push(self, key: str, value: str, message: str) -> str:
        set_entry(self.author / "routes", key, value)
        git("commit", "--quiet", "-am", message, cwd=self.author)
        git("push", "--quiet", "origin", "HEAD:main", cwd=self.author)
        return git("rev-parse", "HEAD", cwd=self.author)

    def kvs(self, key: str) -> str | None:
        cloudfront = make_client("cloudfront", self.target)
        kvs = make_client("cloudfront-keyvaluestore", self.target)
        arn = cloudfront.describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"]
        try:
            return str(kvs.get_key(KvsARN=arn, Key=key)["Value"])
        except kvs.exceptions.ResourceNotFoundException:
            return None

    def applied(self) -> str | None:
        return (self.daemon.status()["lastAppliedRevision"] or {}).get("revision")

    def hook(self, body: bytes, secret: str = HOOK_SECRET) -> tuple[int, str]:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "e2e-1",
            "X-Hub-Signature-256": signature,
            "Content-Type": "application/json",
        }
        return self.daemon.post("/hook/github", headers, body)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    tmp = tmp_path_factory.mktemp("push")
    bare, author = tmp / "origin.git", tmp / "author"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp)
    git("clone", "--quiet", str(bare), str(author), cwd=tmp)
    shutil.copytree(REPO / "routes", author / "routes")
    shutil.copytree(
        REPO / "edge_functions", author / "edge_functions", ignore=shutil.ignore_patterns("node_modules")
    )
    (author / ".gitignore").write_text("node_modules/\n")
    git("add", "-A", cwd=author)
    git("commit", "--quiet", "-m", "routes as in the example", cwd=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=author)
    checkout = tmp / "state" / "checkout"
    git("clone", "--quiet", "--depth", "1", f"file://{bare}", str(checkout), cwd=tmp)
    link_node_modules(checkout)  # ignored by git: survives the hard resets
    (tmp / "api-token").write_text(API_TOKEN + "\n")
    (tmp / "hook-secret").write_text(HOOK_SECRET + "\n")
    daemon = DaemonProcess(
        tmp, "--sandbox", "--state-dir", str(tmp / "state"),
        "--git-url", f"file://{bare}", "--git-dir", str(checkout), "--git-interval", "10m",
        "--routes-dir", "routes", "--resync-interval", "0",
        "--api-token-file", str(tmp / "api-token"), "--webhook-secret-file", str(tmp / "hook-secret"),
        log_level="debug",
    )  # fmt: skip
    try:
        assert daemon.sandbox_url is not None
        target = AwsTarget(endpoint_url=daemon.sandbox_url, max_attempts=2)
        p = Pushed(daemon, author, checkout, target)
        first = git("rev-parse", "HEAD", cwd=author)
        wait_for(lambda: p.applied() == first, 120, "the first pass")
        yield p
    finally:
        daemon.kill()


def test_a_signed_webhook_moves_the_daemon_to_the_pushed_revision_within_seconds(
    pushed: Pushed,
) -> None:
    before = pushed.applied()
    sha = pushed.push("premium", "premium-hook.example.com", "premium moves (webhook)")
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()

    code, answer = pushed.hook(body, secret="someone-elses-secret")
    assert code == 401
    time.sleep(1.0)
    assert pushed.applied() == before  # nothing fetched, nothing applied

    started = time.monotonic()
    code, answer = pushed.hook(body)
    assert code == 202 and json.loads(answer)["fetch"] is True
    wait_for(lambda: pushed.applied() == sha, 15, "the pushed revision applied")
    elapsed = time.monotonic() - started
    print(f"\nwebhook -> pushed revision applied: {elapsed:.2f}s")
    assert elapsed < 15
    assert pushed.kvs("premium") == "premium-hook.example.com"
    status = pushed.daemon.status()
    assert status["lastPass"]["trigger"] == "webhook"
    assert status["gitSource"]["revision"]["sha"] == sha


def test_post_reconcile_fetches_first_and_needs_the_token(pushed: Pushed) -> None:
    sha = pushed.push("premium", "premium-post.example.com", "premium moves (POST)")
    assert pushed.daemon.post("/reconcile")[0] == 401
    code, answer = pushed.daemon.post("/reconcile", {"Authorization": f"Bearer {API_TOKEN}"})
    assert code == 202, answer
    request_id = json.loads(answer)["requestId"]
    wait_for(
        lambda: (pushed.daemon.status()["requests"]["lastHandled"] or 0) >= request_id,
        15,
        "the requested pass",
    )
    assert pushed.applied() == sha
    assert pushed.kvs("premium") == "premium-post.example.com"


def test_the_client_waits_for_the_pass_of_the_pushed_commit(pushed: Pushed) -> None:
    sha = pushed.push("premium", "premium-client.example.com", "premium moves (client)")
    env = repo_environment({"RECONCILER_API_TOKEN": API_TOKEN})
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "reconcile", "--wait", "--url", pushed.daemon.http_url],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "after fetching the git source" in out.stdout
    assert f"applied (manual) at {sha[:18]}" in out.stdout
    assert "premium-client.example.com" in out.stdout  # the change, with its value
    status = subprocess.run(
        [sys.executable, "-m", "reconciler", "status", "--url", pushed.daemon.http_url],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert status.returncode == 0 and "Ready       True" in status.stdout
    assert "distribution " in status.stdout


# What a pass logs (the engine's events and the worker's); other threads (HTTP, webhooks,
# the git poller) log beside it without a revision.
PASS_EVENTS = ("change.", "gate.", "conflict.", "apply.", "lambda_version.", "ledger.", "pass.", "drift.")


def test_every_line_of_a_pass_carries_its_revision(pushed: Pushed) -> None:
    inside: list[dict[str, Any]] = []
    current: str | None = None
    for event in pushed.daemon.events():
        name = event["event"]
        if name == "pass.started":
            current = event.get("revision")
        elif name == "pass.finished":
            assert event.get("revision") == current
            current = None
        elif current is not None and name.startswith(PASS_EVENTS):
            inside.append(event)
    names = {e["event"] for e in inside}
    assert {"change.applied", "pass.result"} <= names, names
    assert [e for e in inside if not e.get("revision")] == []
    applied = [e for e in inside if e["event"] == "change.applied" and "premium" in e["address"]]
    assert any(e["after"] == "premium-hook.example.com" for e in applied)
    assert all("before" in e for e in applied)


def test_aws_calls_throttles_and_the_distribution_status_are_reported(pushed: Pushed) -> None:
    d = pushed.daemon
    assert d.metric("reconciler_aws_api_calls_total", service="cloudfront", operation="GetDistribution") > 0
    assert d.metric("reconciler_aws_api_calls_total", service="cloudfront-keyvaluestore") > 0
    fault = json.dumps(
        {"service": "cloudfront", "operation": "GetDistribution", "kind": "throttle", "count": 2}
    ).encode()
    request = urllib.request.Request(
        f"{d.sandbox_url}/_sandbox/faults", data=fault, method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    urllib.request.urlopen(request, timeout=5).read()
    before = d.metric("reconciler_aws_api_throttles_total", operation="GetDistribution")
    handled = d.status()["requests"]["lastHandled"] or 0
    d.post("/reconcile", {"Authorization": f"Bearer {API_TOKEN}"})
    wait_for(lambda: (d.status()["requests"]["lastHandled"] or 0) > handled, 30, "the pass")
    assert d.metric("reconciler_aws_api_throttles_total", operation="GetDistribution") - before == 2
    distributions = d.status()["distributions"]
    assert len(distributions) == 1
    (dist_id, dist), = distributions.items()
    assert dist["status"] in ("Deployed", "InProgress")
    assert d.metric("reconciler_distribution_status", distribution=dist_id, status=dist["status"]) == 1
    other = "Deployed" if dist["status"] == "InProgress" else "InProgress"
    assert d.metric("reconciler_distribution_status", distribution=dist_id, status=other) == 0


def test_a_dirty_work_tree_is_reported_as_such(pushed: Pushed) -> None:
    d = pushed.daemon
    sha = git("rev-parse", "HEAD", cwd=pushed.author)
    set_entry(pushed.checkout / "routes", "standard", "standard-local-edit.example.com")
    wait_for(
        lambda: (d.status()["lastAttemptedRevision"] or {}).get("dirty") is True, 15, "dirty"
    )
    status = d.status()
    assert status["lastAttemptedRevision"]["revision"] == f"{sha}-dirty"
    assert status["lastAttemptedRevision"]["sha"] == sha
    wait_for(lambda: pushed.applied() == f"{sha}-dirty", 15, "the dirty tree applied")
    assert d.metric("reconciler_revision_info", state="applied", revision=f"{sha}-dirty") == 1
    started = [e for e in d.events("pass.started") if e.get("dirty")]
    assert started and started[-1]["revision"] == f"{sha}-dirty"


def test_no_token_secret_or_signature_is_logged(pushed: Pushed) -> None:
    text = pushed.daemon.log_path.read_text()
    assert "webhook.accepted" in text and "api.refused" in text and "webhook.rejected" in text
    for secret in (API_TOKEN, HOOK_SECRET, "sha256="):
        assert secret not in text, secret
    for path in ("/status", "/metrics"):
        page = pushed.daemon.get(path)[1]
        assert API_TOKEN not in page and HOOK_SECRET not in page
