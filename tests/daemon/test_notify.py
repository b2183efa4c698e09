"""Notifications against a real HTTP receiver: which passes make which events, what each
provider sends (signed JSON webhook, Slack message, GitHub commit status), retries, a dead
or slow receiver costing the passes nothing, a full queue dropping, secrets never logged,
and the notifications file validated with positions. The worker runs scripted passes."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from reconciler.core.errors import ErrorClass
from reconciler.daemon.auth import verify_webhook
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.notify import NotificationConfigError, Notifier, load_notifications
from reconciler.daemon.revision import Revision
from reconciler.daemon.worker import Worker, WorkerConfig
from reconciler.engine.report import Outcome, PassReport, Rejection
from tests.daemon.receiver import Receiver
from tests.daemon.scripted import ScriptedRunner, report

SHA = "0123456789abcdef0123456789abcdef01234567"
HMAC_KEY = "notify-hmac-key-5e6f"
GITHUB_TOKEN = "ghp_notifyTOKENneverLOGGED"
SLACK_PATH = "/services/T000/B000/SECRETslackPATH"
FAST = WorkerConfig(debounce=0.05, resync_interval=0, backoff_min=0.05, backoff_max=0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notifications.yaml"
    path.write_text(text)
    return path


def full_config(tmp_path: Path, url: str, **delivery: Any) -> Path:
    (tmp_path / "slack-url").write_text(url + SLACK_PATH + "\n")
    (tmp_path / "gh-token").write_text(GITHUB_TOKEN + "\n")
    (tmp_path / "hmac").write_text(HMAC_KEY)
    extra = "".join(f"  {k}: {v}\n" for k, v in delivery.items())
    return write_config(
        tmp_path,
        f"""
source: edge-prod
providers:
  - name: audit
    type: webhook
    url: {url}/hook
    secretFile: {tmp_path}/hmac
    headers: {{X-Team: edge}}
  - name: chat
    type: slack
    urlFile: {tmp_path}/slack-url
    channel: "#edge"
  - name: commits
    type: github
    repository: example-org/edge-routes
    tokenFile: {tmp_path}/gh-token
    apiUrl: {url}/api
alerts:
  - providers: [audit]
    events: ["*"]
  - providers: [chat]
    events: [failed, stalled, gate_rejected, drift_corrected, recovered]
  - providers: [commits]
    events: [applied, failed, stalled, gate_rejected, recovered]
delivery:
  attempts: 3
  minBackoff: 50ms
  maxBackoff: 200ms
  timeout: 2s
{extra}""",
    )


def start(
    runner: ScriptedRunner, config: Path, revision: Revision | None = None
) -> tuple[Worker, Notifier, DaemonMetrics]:
    metrics = DaemonMetrics()
    notifier = Notifier(load_notifications(config), metrics)
    rev = revision or Revision(SHA, "move premium")
    worker = Worker(runner, FAST, metrics=metrics, revision_of=lambda: rev, rng=random.Random(3))
    worker.add_listener(notifier.on_pass)
    notifier.start()
    worker.start()
    return worker, notifier, metrics


def stop(worker: Worker, notifier: Notifier, drain: float = 5.0) -> None:
    worker.stop()
    worker.join(5)
    notifier.stop(drain)


def rejected() -> PassReport:
    return report(
        Outcome.FAILED,
        error_class=ErrorClass.FATAL,
        reason="FunctionTestFailed",
        errors=("tier-router: tests failed, not published",),
        rejected=(Rejection("tier-router", "abc123def456", ("premium.json: expected gold",)),),
    )


def count(metrics: DaemonMetrics, **labels: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        if family.name == "reconciler_notifications":
            for s in family.samples:
                if s.name.endswith("_total") and all(s.labels[k] == v for k, v in labels.items()):
                    total += s.value
    return total


def test_each_pass_makes_the_events_it_should_and_each_provider_sends_its_shape(
    tmp_path: Path, receiver: Receiver
) -> None:
    script = [
        report(Outcome.APPLIED, 2),  # startup: changes written
        report(Outcome.FAILED, reason="Throttling", errors=("throttled",)),  # -> retry
        report(Outcome.FAILED, reason="Throttling", errors=("throttled",)),  # same: no event
        report(Outcome.NO_CHANGES),  # recovered
        report(Outcome.APPLIED, 2, drift=2),  # drift only: drift_corrected, not applied
        rejected(),  # stalled + gate_rejected
    ]
    runner = ScriptedRunner(script=lambda i, dry: script[i])
    worker, notifier, metrics = start(runner, full_config(tmp_path, receiver.url))
    try:
        assert worker.wait_for_passes(1, 5)
        worker.request()  # fails, is retried, fails again, is retried and converges
        assert worker.wait_for_passes(4, 10)
        worker.request()
        assert worker.wait_for_passes(5, 5)
        worker.request()
        assert worker.wait_for_passes(6, 5)
        receiver.wait(lambda got: len([r for r in got if r.path == "/hook"]) >= 6)
        receiver.wait(lambda got: len([r for r in got if r.path.startswith("/api")]) >= 5)
        receiver.wait(lambda got: len([r for r in got if r.path == SLACK_PATH]) >= 5)
    finally:
        stop(worker, notifier)

    hooks = receiver.at("/hook")
    events = [h.json()["event"] for h in hooks]
    assert events == ["applied", "failed", "recovered", "drift_corrected", "stalled", "gate_rejected"]
    for hook in hooks:  # signed like our own /hook/generic checks
        headers = {k.lower(): v for k, v in hook.headers.items()}
        assert verify_webhook("generic", headers, hook.body, HMAC_KEY.encode()).ok
        assert headers["x-team"] == "edge" and headers["x-reconciler-event"] == hook.json()["event"]
        assert hook.json()["revision"]["sha"] == SHA and hook.json()["source"] == "edge-prod"
    applied = hooks[0].json()
    assert applied["changes"][0] == {
        "address": "kvs_entry.tier-origins['k0']",
        "action": "update",
        "before": "old",
        "after": "new",
        "reason": "",
    }
    drift = hooks[3].json()["changes"][0]
    assert (drift["found"], drift["restored"], drift["corrected"]) == ("old", "new", True)
    assert hooks[5].json()["rejected"][0]["problems"] == ["premium.json: expected gold"]

    statuses = receiver.at(f"/api/repos/example-org/edge-routes/statuses/{SHA}")
    assert [s.json()["state"] for s in statuses] == ["success", "error", "success", "failure", "failure"]
    assert all(s.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}" for s in statuses)
    assert statuses[0].json()["context"] == "edge-routing-reconciler"
    assert all(len(s.json()["description"]) <= 140 for s in statuses)

    slack = [s.json() for s in receiver.at(SLACK_PATH)]
    assert [m["attachments"][0]["color"] for m in slack] == [
        "#e01e5a", "#2eb67d", "#ecb22e", "#e01e5a", "#e01e5a"
    ]
    assert slack[0]["channel"] == "#edge" and "Throttling" in slack[0]["text"]
    assert 'found "old"' not in slack[2]["attachments"][0]["text"]
    assert '"old" -> "new"' in slack[2]["attachments"][0]["text"]
    assert count(metrics, provider="audit", result="sent") == 6
    assert count(metrics, result="failed") == 0


def test_a_revision_converged_for_the_first_time_is_applied_even_with_no_changes(
    tmp_path: Path, receiver: Receiver
) -> None:
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.NO_CHANGES))
    worker, notifier, _ = start(runner, full_config(tmp_path, receiver.url))
    try:
        assert worker.wait_for_passes(1, 5)
        worker.request()
        assert worker.wait_for_passes(2, 5)
        hooks = receiver.wait(lambda got: [r for r in got if r.path == "/hook"])
        time.sleep(0.3)  # a second `applied` for the same revision would have arrived
    finally:
        stop(worker, notifier)
    assert [h.json()["event"] for h in receiver.at("/hook")] == ["applied"]
    assert hooks[0].json()["title"].endswith("applied: no changes needed")


def test_a_dirty_work_tree_gets_no_commit_status(tmp_path: Path, receiver: Receiver) -> None:
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 1))
    dirty = Revision(SHA, "move premium", dirty=True)
    worker, notifier, metrics = start(runner, full_config(tmp_path, receiver.url), dirty)
    try:
        assert worker.wait_for_passes(1, 5)
        hooks = receiver.wait(lambda got: [r for r in got if r.path == "/hook"])
        receiver.wait(lambda _: count(metrics, provider="commits", result="skipped") == 1)
    finally:
        stop(worker, notifier)
    assert hooks[0].json()["revision"]["revision"] == f"{SHA}-dirty"
    assert not [r for r in receiver.received if r.path.startswith("/api")]


def test_transient_errors_are_retried_and_client_errors_are_not(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.answers["/hook"] = [503, 429, 200, 400]
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 1))
    worker, notifier, metrics = start(runner, full_config(tmp_path, receiver.url))
    try:
        assert worker.wait_for_passes(1, 5)
        receiver.wait(lambda _: count(metrics, provider="audit", result="sent") == 1)
        worker.request()  # a second applied event: 400 answers it, not retried
        assert worker.wait_for_passes(2, 5)
        receiver.wait(lambda _: count(metrics, provider="audit", result="failed") == 1)
        time.sleep(0.3)
    finally:
        stop(worker, notifier)
    assert len(receiver.at("/hook")) == 4  # 503, 429 (Retry-After), 200; then 400 once


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_slow_receiver_holds_up_no_pass(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 3.0  # every delivery hangs for 3 s (recorded when it answers)
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 1))
    worker, notifier, _ = start(runner, full_config(tmp_path, receiver.url))
    try:
        for n in range(2, 6):
            worker.request()
            assert worker.wait_for_passes(n, 5)
        # Five passes recorded while the first delivery of each provider still hangs.
        assert receiver.received == []
    finally:
        stop(worker, notifier, drain=0)


def test_a_dead_receiver_costs_a_metric_and_a_log_line_and_secrets_stay_out_of_logs(
    tmp_path: Path, receiver: Receiver
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = full_config(tmp_path, dead)
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 1))
    with capture_logs() as logs:
        worker, notifier, metrics = start(runner, config)
        try:
            for n in range(2, 6):
                worker.request()
                assert worker.wait_for_passes(n, 5)
            receiver.wait(lambda _: count(metrics, provider="audit", result="failed") == 5, 20)
        finally:
            stop(worker, notifier)
    failed = [e for e in logs if e["event"] == "notification.failed"]
    assert failed and all("connection failed" in e["error"] for e in failed)
    assert all(e["attempts"] == 3 for e in failed)
    text = repr(logs)
    for secret in (GITHUB_TOKEN, HMAC_KEY, SLACK_PATH, "SECRETslack", dead):
        assert secret not in text, secret


def test_a_full_queue_drops_and_counts(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 0.5  # each delivery takes half a second
    config = full_config(tmp_path, receiver.url, queueSize=1)
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.APPLIED, 1))
    worker, notifier, metrics = start(runner, config)
    try:
        for n in range(2, 6):
            worker.request()
            assert worker.wait_for_passes(n, 5)
        receiver.wait(lambda _: count(metrics, provider="audit", result="dropped") >= 2)
    finally:
        stop(worker, notifier)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "providers:\n  - name: a\n    type: teams\n    url: https://x\nalerts:\n"
            "  - {providers: [a], events: [applied]}\n",
            ":3:5: providers[0].type: Input should be 'webhook', 'slack' or 'github'",
        ),
        (
            "providers:\n  - {name: a, type: slack}\nalerts:\n  - {providers: [a], events: [applied]}\n",
            ":2:5: providers[0]: url, urlFile or urlEnv is required",
        ),
        (
            "providers:\n  - {name: a, type: webhook, url: https://x}\nalerts:\n"
            "  - {providers: [b], events: [applied]}\n",
            "alerts[0]: no provider named 'b' (have: a)",
        ),
        (
            "providers:\n  - {name: gh, type: github, repository: o/r, token: t}\nalerts:\n"
            "  - {providers: [gh], events: [applied, drift_corrected]}\n",
            "not drift_corrected (drift belongs to no commit)",
        ),
        (
            "providers:\n  - {name: a, type: webhook, url: https://x}\nalerts:\n"
            "  - {providers: [a], events: [aplied]}\n",
            ":4:31: alerts[0].events[0]: Input should be 'applied'",
        ),
        (
            "providers:\n  - {name: a, type: webhook, url: https://x, colour: red}\nalerts: []\n",
            ":2:46: providers[0].colour: unknown field",
        ),
        (
            "providers:\n  - {name: a, type: webhook, url: 'ftp://x'}\nalerts:\n"
            "  - {providers: [a], events: ['*']}\ndelivery: {attempts: 0}\n",
            "delivery.attempts: Input should be greater than or equal to 1",
        ),
        ("providers: [\n", "YAML syntax"),
    ],
)
def test_a_bad_notifications_file_is_refused_with_positions(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(NotificationConfigError) as err:
        load_notifications(path)
    assert expected in str(err.value)
    assert str(err.value).startswith(str(path))


def test_a_bad_url_is_refused_without_printing_it(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "providers:\n  - {name: a, type: slack, url: 'hooks.slack.com/SECRETpart'}\n"
        "alerts:\n  - {providers: [a], events: [failed]}\n",
    )
    with pytest.raises(NotificationConfigError) as err:
        load_notifications(path)
    assert "must be an http(s) URL" in str(err.value) and "SECRETpart" not in str(err.value)


def test_secrets_from_the_environment_and_every_event_by_star(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL_FOR_TEST", "https://hooks.example.com/x")
    config = load_notifications(
        write_config(
            tmp_path,
            '{"providers": [{"name": "s", "type": "slack", "urlEnv": "SLACK_URL_FOR_TEST"}],'
            ' "alerts": [{"providers": ["s"], "events": ["*"]}]}',
        )
    )
    assert config.providers[0].url == "https://hooks.example.com/x"
    assert len(config.routes()) == 7
    assert "hooks.example.com" not in repr(config)
    monkeypatch.delenv("SLACK_URL_FOR_TEST")
    with pytest.raises(NotificationConfigError, match="SLACK_URL_FOR_TEST is not set"):
        load_notifications(tmp_path / "notifications.yaml")
