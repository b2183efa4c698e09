"""The daemon's HTTP API in-process (a scripted runner stands in for the pass): who may
POST, webhook signatures, request ids, and /metrics served by prometheus-client's own
handler (Prometheus text or OpenMetrics by the Accept header, gzip, process metrics,
the condition gauge)."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from reconciler.daemon.app import Daemon
from reconciler.daemon.auth import Secret, SecretError, bearer_matches, sign, verify_webhook
from reconciler.settings import DaemonSettings
from tests.daemon.scripted import FileDigestRunner

TOKEN = "api-token-for-tests-7c1d"
HOOK_SECRET = "webhook-secret-for-tests-93ab"


def request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = body if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(url, method=method, data=data, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for d in made:
        d.stop(5)


def make(tmp_path: Path, daemons: list[Daemon], **settings: Any) -> Daemon:
    routes = tmp_path / "repo" / "routes"
    routes.mkdir(parents=True, exist_ok=True)
    (routes / "tiers.yaml").write_text("entries: {standard: a}\n")
    values: dict[str, Any] = {
        "routes_dir": routes,
        "state_dir": tmp_path / "state",
        "http_port": 0,
        "debounce": 0.05,
        "resync_interval": 0,
        **settings,
    }
    s = DaemonSettings(**values)
    daemon = Daemon(s, FileDigestRunner(s.resolved_routes_dir))
    daemons.append(daemon)
    daemon.start()
    assert daemon.worker.wait_for_passes(1, 5)
    return daemon


def url(daemon: Daemon, path: str) -> str:
    assert daemon.http is not None
    return daemon.http.url + path


# --- the API token ------------------------------------------------------------------------


def test_without_a_token_every_post_is_refused_and_nothing_happens(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    daemon = make(tmp_path, daemons)
    for path in ("/suspend", "/resume", "/reconcile"):
        code, _, body = request("POST", url(daemon, path), bearer("anything"))
        assert code == 403, path
        assert "no API token is configured" in json.loads(body)["error"]
    assert not daemon.settings.suspend_flag.exists()
    assert not daemon.worker.wait_for_passes(2, 0.3)  # /reconcile ran nothing
    status = json.loads(request("GET", url(daemon, "/status"))[2])
    assert status["api"]["tokenConfigured"] is False
    assert request("GET", url(daemon, "/healthz"))[0] == 200  # reading stays open


def test_a_post_needs_the_token_compared_exactly(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon = make(tmp_path, daemons, api_token=TOKEN)
    target = url(daemon, "/suspend")
    code, headers, _ = request("POST", target)
    assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), ""):
        assert request("POST", target, bearer(wrong))[0] == 401, wrong
    assert request("POST", target, {"Authorization": f"Basic {TOKEN}"})[0] == 401
    assert not daemon.settings.suspend_flag.exists()
    assert request("POST", target, bearer())[0] == 202
    assert daemon.settings.suspend_flag.exists()
    assert request("POST", url(daemon, "/resume"), bearer())[0] == 202


def test_a_token_file_is_reread_when_it_is_rotated(tmp_path: Path, daemons: list[Daemon]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    daemon = make(tmp_path, daemons, api_token_file=token_file)
    target = url(daemon, "/reconcile")
    assert request("POST", target, bearer("first-token"))[0] == 202
    token_file.write_text("second-token-longer\n")  # a Kubernetes Secret update
    assert request("POST", target, bearer("first-token"))[0] == 401
    assert request("POST", target, bearer("second-token-longer"))[0] == 202


def test_an_unusable_token_file_stops_the_start(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SecretError, match="empty"):
        Secret("api_token", path=empty)
    with pytest.raises(SecretError, match="No such file"):
        Secret("api_token", path=tmp_path / "missing")
    with pytest.raises(ValueError, match="not both"):
        DaemonSettings(api_token="x", api_token_file=empty)


def test_bearer_matching() -> None:
    assert bearer_matches("Bearer abc", b"abc")
    assert bearer_matches("bearer  abc ", b"abc")
    assert not bearer_matches("Bearer abd", b"abc")
    assert not bearer_matches(None, b"abc")
    assert not bearer_matches("Bearer abc", None)


# --- request ids (what `reconcile --wait` polls) -----------------------------------------


def test_a_reconcile_request_is_handled_by_a_pass_that_starts_after_it(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    daemon = make(tmp_path, daemons, api_token=TOKEN)
    runner = daemon._runner
    assert isinstance(runner, FileDigestRunner)
    runner.pass_seconds = 0.4  # the next pass runs long: requests pile up behind it
    status = json.loads(request("GET", url(daemon, "/status"))[2])
    assert status["requests"] == {"lastHandled": None, "pending": None}
    first = json.loads(request("POST", url(daemon, "/reconcile"), bearer())[2])
    assert first["requestId"] == 1 and first["fetch"] is False
    time.sleep(0.1)  # the pass for request 1 is running now
    second = json.loads(request("POST", url(daemon, "/reconcile"), bearer())[2])
    third = json.loads(request("POST", url(daemon, "/reconcile"), bearer())[2])
    assert (second["requestId"], third["requestId"]) == (2, 3)
    running = json.loads(request("GET", url(daemon, "/status"))[2])
    assert running["running"]["request"] == 1 and running["requests"]["pending"] == 3
    assert daemon.worker.wait_for_passes(3, 5)
    assert daemon.worker.wait_idle(5)
    status = json.loads(request("GET", url(daemon, "/status"))[2])
    # Requests 2 and 3 came during the pass for 1: one follow-up pass took up both.
    assert status["passes"] == 3
    assert status["requests"]["lastHandled"] == 3 and status["requests"]["pass"] == 3
    assert status["requests"]["outcome"] == "no_changes"
    assert status["lastPass"]["request"] == 3 and status["lastPass"]["trigger"] == "manual"


# --- webhooks -----------------------------------------------------------------------------


def github_headers(body: bytes, event: str = "push", secret: str = HOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def test_webhooks_are_off_without_a_secret(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon = make(tmp_path, daemons, api_token=TOKEN)
    body = b'{"ref": "refs/heads/main"}'
    assert request("POST", url(daemon, "/hook/github"), github_headers(body), body)[0] == 404
    assert not daemon.worker.wait_for_passes(2, 0.3)


def test_signed_webhooks_run_a_pass_and_unsigned_ones_do_not(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    secret_file = tmp_path / "hook-secret"
    secret_file.write_text(HOOK_SECRET + "\n")
    daemon = make(tmp_path, daemons, webhook_secret_file=secret_file)
    body = json.dumps({"ref": "refs/heads/main", "after": "abc"}).encode()
    hook = url(daemon, "/hook/github")

    bad = github_headers(body, secret="not-the-secret")
    assert request("POST", hook, bad, body)[0] == 401
    tampered = github_headers(body)
    assert request("POST", hook, tampered, body + b" ")[0] == 401
    assert request("POST", hook, {"X-GitHub-Event": "push"}, body)[0] == 401
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"}
    assert request("POST", url(daemon, "/hook/gitlab"), gitlab, body)[0] == 401
    assert not daemon.worker.wait_for_passes(2, 0.3)

    code, _, answer = request("POST", hook, github_headers(body, event="ping"), body)
    assert (code, json.loads(answer)) == (200, {"pong": True})
    code, _, answer = request("POST", hook, github_headers(body, event="issues"), body)
    assert code == 202 and "only push events" in json.loads(answer)["ignored"]
    assert not daemon.worker.wait_for_passes(2, 0.3)

    code, _, answer = request("POST", hook, github_headers(body), body)
    assert code == 202 and json.loads(answer)["requestId"] == 1
    assert daemon.worker.wait_for_passes(2, 5)
    gitlab = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": HOOK_SECRET}
    assert request("POST", url(daemon, "/hook/gitlab"), gitlab, body)[0] == 202
    assert daemon.worker.wait_for_passes(3, 5)
    generic = {"X-Signature": sign(b"anything", HOOK_SECRET.encode(), "sha512")}
    assert request("POST", url(daemon, "/hook/generic"), generic, b"anything")[0] == 202
    assert daemon.worker.wait_for_passes(4, 5)
    status = json.loads(request("GET", url(daemon, "/status"))[2])
    assert status["lastPass"]["trigger"] == "webhook"

    text = request("GET", url(daemon, "/metrics"))[2].decode()
    samples = {
        (s.labels["kind"], s.labels["result"]): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "reconciler_webhook_requests_total"
    }
    assert samples[("github", "rejected")] == 3
    assert samples[("github", "accepted")] == 1
    assert samples[("github", "pong")] == 1
    assert samples[("github", "ignored")] == 1
    assert samples[("gitlab", "rejected")] == 1


def test_a_github_push_to_another_branch_is_ignored_with_a_git_source() -> None:
    from reconciler.daemon.webhooks import WebhookReceiver

    calls: list[str] = []
    receiver = WebhookReceiver(
        Secret("s", HOOK_SECRET), "main", lambda kind: calls.append(kind) or {"requestId": 1}
    )
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    reply = receiver.handle("github", _lower(github_headers(other)), other, "c")
    assert reply.code == 202 and "follows main" in reply.payload["ignored"] and calls == []
    main = json.dumps({"ref": "refs/heads/main"}).encode()
    assert receiver.handle("github", _lower(github_headers(main)), main, "c").code == 202
    # GitHub's form-encoded content type carries the same JSON in `payload`.
    form = b"payload=" + urllib.request.quote(other.decode()).encode()
    reply = receiver.handle("github", _lower(github_headers(form)), form, "c")
    assert "ignored" in reply.payload
    assert calls == ["github"]


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_signature_verification_rules() -> None:
    body, secret = b'{"x": 1}', HOOK_SECRET.encode()
    good = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert verify_webhook("github", {"x-hub-signature-256": good}, body, secret).ok
    assert verify_webhook("github", {"x-hub-signature-256": good.upper().replace("SHA", "sha")}, body, secret).ok
    assert not verify_webhook("github", {"x-hub-signature-256": good}, body + b"x", secret).ok
    sha1 = "sha1=" + hmac.new(secret, body, hashlib.sha1).hexdigest()
    assert "algorithm" in verify_webhook("generic", {"x-signature": sha1}, body, secret).why
    assert verify_webhook("generic", {"x-signature": sign(body, secret)}, body, secret).ok
    verdict = verify_webhook("gitlab", {"x-gitlab-token": "nope"}, body, secret)
    assert not verdict.ok and HOOK_SECRET not in verdict.why


def test_a_huge_webhook_body_is_refused_unread(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon = make(tmp_path, daemons, webhook_secret=HOOK_SECRET)
    assert daemon.http is not None
    conn = http.client.HTTPConnection(daemon.http.host, daemon.http.port, timeout=5)
    conn.putrequest("POST", "/hook/generic")
    conn.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    conn.endheaders()  # the body is never sent: the answer must not wait for it
    response = conn.getresponse()
    assert response.status == 413
    conn.close()


# --- /metrics -----------------------------------------------------------------------------


def test_metrics_negotiate_openmetrics_gzip_and_carry_conditions_and_process(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    daemon = make(tmp_path, daemons, api_token=TOKEN)
    code, headers, body = request("GET", url(daemon, "/metrics"))
    assert code == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    conditions = {
        (s.labels["type"], s.labels["status"]): s.value
        for s in families["reconciler_condition"].samples
    }
    assert conditions[("Ready", "True")] == 1 and conditions[("Ready", "False")] == 0
    assert conditions[("Ready", "Unknown")] == 0 and conditions[("Stalled", "False")] == 1
    if os.path.exists("/proc/self/stat"):
        assert families["process_resident_memory_bytes"].samples[0].value > 0
        assert "process_cpu_seconds" in families
    assert "python_info" in families

    accept = {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
    code, headers, body = request("GET", url(daemon, "/metrics"), accept)
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    names = {f.name for f in openmetrics_families(text)}
    assert {"reconciler_passes", "reconciler_condition", "process_cpu_seconds"} <= names

    code, headers, body = request("GET", url(daemon, "/metrics"), {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    assert b"reconciler_condition" in gzip.decompress(body)

    request("POST", url(daemon, "/suspend"), bearer())
    text = request("GET", url(daemon, "/metrics"))[2].decode()
    assert 'reconciler_condition{status="False",type="Reconciling"} 1.0' in text
    assert 'reconciler_http_requests_total{code="202",endpoint="/suspend"} 1.0' in text


def test_http_server_answers_in_parallel(tmp_path: Path, daemons: list[Daemon]) -> None:
    daemon = make(tmp_path, daemons)
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda: codes.append(request("GET", url(daemon, "/status"))[0]))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert codes == [200] * 8
