"""Notifications end to end: `reconciler run --sandbox` as a subprocess with the real pass,
route files in a git work tree, a notifications file with a signed JSON webhook, a Slack
provider, a GitHub commit-status provider (its API served by the test's receiver) and a
webhook to a port nobody listens on. The receiver is a real HTTP server.

First pass -> `applied` (with the values written) and a `success` commit status; drift
made with boto3 -> `drift_corrected` naming the value found and the value restored; a
commit whose function fails its own tests -> `gate_rejected` and `stalled` and a
`failure` commit status. The dead receiver costs nothing but a metric and a log line.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.daemon.auth import verify_webhook
from tests.daemon.receiver import Receiver
from tests.support.daemon import REPO, DaemonProcess, wait_for
from tests.support.git import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="makes repositories with git")

API_TOKEN = "notify-e2e-token"
HMAC_KEY = "notify-e2e-hmac"
GITHUB_TOKEN = "ghp_e2eTOKENnotLOGGED"




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Setup:
    daemon: DaemonProcess
    receiver: Receiver
    repo: Path
    target: AwsTarget

    def hooks(self, event: str) -> list[dict[str, object]]:
        return [r.json() for r in self.receiver.at("/hook") if r.json()["event"] == event]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("notify")
    repo = tmp / "repo"
    shutil.copytree(REPO / "routes", repo / "routes")
    shutil.copytree(
        REPO / "edge_functions", repo / "edge_functions", ignore=shutil.ignore_patterns("node_modules")
    )
    (repo / ".gitignore").write_text("node_modules/\n")
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "routes as in the example", cwd=repo)
    for modules in (REPO / "edge_functions").glob("*/node_modules"):
        (repo / modules.relative_to(REPO)).symlink_to(modules)

    receiver = Receiver().start()
    (tmp / "gh-token").write_text(GITHUB_TOKEN)
    (tmp / "hmac").write_text(HMAC_KEY)
    (tmp / "api-token").write_text(API_TOKEN)
    config = tmp / "notifications.yaml"
    config.write_text(
        f"""
source: e2e
providers:
  - {{name: audit, type: webhook, url: "{receiver.url}/hook", secretFile: {tmp}/hmac}}
  - {{name: chat, type: slack, url: "{receiver.url}/slack"}}
  - name: commits
    type: github
    repository: example-org/edge-routes
    tokenFile: {tmp}/gh-token
    apiUrl: {receiver.url}/api
  - {{name: dead, type: webhook, url: "http://127.0.0.1:{free_port()}/nobody"}}
alerts:
  - {{providers: [audit, dead], events: ["*"]}}
  - {{providers: [chat], events: [failed, stalled, gate_rejected, drift_corrected, recovered]}}
  - {{providers: [commits], events: [applied, stalled, gate_rejected, recovered]}}
delivery: {{attempts: 2, minBackoff: 100ms, maxBackoff: 200ms, timeout: 2s}}
"""
    )
    daemon = DaemonProcess(
        tmp, "--sandbox", "--state-dir", str(tmp / "state"), "--routes-dir", str(repo / "routes"),
        "--resync-interval", "0", "--notifications-file", str(config),
        "--api-token-file", str(tmp / "api-token"),
    )  # fmt: skip
    try:
        assert daemon.sandbox_url is not None
        target = AwsTarget(endpoint_url=daemon.sandbox_url, max_attempts=2)
        s = Setup(daemon, receiver, repo, target)
        wait_for(lambda: s.hooks("applied"), 120, "the applied notification")
        yield s
    finally:
        daemon.kill()
        receiver.stop()


def test_the_first_pass_sends_applied_with_values_and_a_success_status(setup: Setup) -> None:
    sha = git("rev-parse", "HEAD", cwd=setup.repo)
    (applied,) = setup.hooks("applied")
    assert applied["revision"] == {  # type: ignore[comparison-overlap]
        "revision": sha, "sha": sha, "subject": "routes as in the example", "dirty": False
    }
    changes = {c["address"]: c for c in applied["changes"]}  # type: ignore[attr-defined]
    assert changes["kvs_entry.tier-origins['premium']"]["after"] == "premium-api.example.com"
    hook = setup.receiver.at("/hook")[0]
    headers = {k.lower(): v for k, v in hook.headers.items()}
    assert verify_webhook("generic", headers, hook.body, HMAC_KEY.encode()).ok
    statuses = setup.receiver.wait(
        lambda got: [r for r in got if r.path == f"/api/repos/example-org/edge-routes/statuses/{sha}"]
    )
    assert statuses[0].json()["state"] == "success"
    assert statuses[0].headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"


def test_drift_corrected_names_the_value_found_and_the_value_restored(setup: Setup) -> None:
    cloudfront = make_client("cloudfront", setup.target)
    kvs = make_client("cloudfront-keyvaluestore", setup.target)
    arn = cloudfront.describe_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    kvs.put_key(KvsARN=arn, Key="premium", Value="hijacked.example.com", IfMatch=etag)
    assert setup.daemon.post("/reconcile", {"Authorization": f"Bearer {API_TOKEN}"})[0] == 202
    (drift,) = wait_for(lambda: setup.hooks("drift_corrected"), 30, "drift_corrected")
    (item,) = drift["changes"]  # type: ignore[misc]
    assert item["found"] == "hijacked.example.com"
    assert item["restored"] == "premium-api.example.com"
    slack = setup.receiver.wait(lambda got: [r for r in got if r.path == "/slack"])
    text = slack[-1].json()["attachments"][0]["text"]
    assert "hijacked.example.com" in text and "premium-api.example.com" in text
    logged = [e for e in setup.daemon.events("drift.detected") if "premium" in e["address"]]
    assert logged[-1]["found"] == "hijacked.example.com"
    assert logged[-1]["restored"] == "premium-api.example.com"


def test_a_function_failing_its_tests_sends_gate_rejected_stalled_and_a_failure(
    setup: Setup,
) -> None:
    source = setup.repo / "edge_functions/tier_router/index.js"
    source.write_text(source.read_text().replace("const TIER_PARAM = 'ctier';", "const TIER_PARAM = 'xtier';"))
    git("commit", "--quiet", "-am", "tier parameter renamed (breaks the tests)", cwd=setup.repo)
    sha = git("rev-parse", "HEAD", cwd=setup.repo)
    (rejected,) = wait_for(lambda: setup.hooks("gate_rejected"), 60, "gate_rejected")
    assert rejected["rejected"][0]["function"] == "tier-router"  # type: ignore[index]
    assert rejected["revision"]["sha"] == sha  # type: ignore[index]
    (stalled,) = wait_for(lambda: setup.hooks("stalled"), 10, "stalled")
    assert stalled["reason"] == "FunctionTestFailed"
    states = setup.receiver.wait(
        lambda got: [
            r.json()["state"]
            for r in got
            if r.path == f"/api/repos/example-org/edge-routes/statuses/{sha}"
        ]
        if len([r for r in got if r.path.endswith(sha)]) >= 2
        else None
    )
    assert states == ["failure", "failure"]
    assert setup.daemon.condition("Stalled")["reason"] == "FunctionTestFailed"


def test_the_dead_receiver_costs_a_metric_and_a_log_line_and_no_secret_is_logged(
    setup: Setup,
) -> None:
    d = setup.daemon
    sent = d.metric("reconciler_notifications_total", provider="audit", result="sent")
    wait_for(
        lambda: d.metric("reconciler_notifications_total", provider="dead", result="failed") == sent,
        30,
        "every event the dead provider got counted as failed",
    )
    failed = d.events("notification.failed")
    assert failed and {e["provider"] for e in failed} == {"dead"}
    text = d.log_path.read_text()
    for secret in (GITHUB_TOKEN, HMAC_KEY, API_TOKEN, "/nobody", f"{setup.receiver.url}/slack"):
        assert secret not in text, secret
