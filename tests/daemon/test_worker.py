"""The worker with scripted runners: real threads, short intervals."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from reconciler.aws.errors import ErrorClass
from reconciler.daemon.backoff import Backoff
from reconciler.daemon.triggers import Schedule, Trigger
from reconciler.daemon.worker import Worker, WorkerConfig
from reconciler.engine.report import Outcome
from tests.daemon.scripted import ScriptedRunner, report

FAST = WorkerConfig(
    debounce=0.05, debounce_max=0.5, resync_interval=0, backoff_min=0.05, backoff_max=0.2
)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for w in made:
        w.stop()
        w.join(5)


def start(workers: list[Worker], runner: ScriptedRunner, config: WorkerConfig = FAST) -> Worker:
    worker = Worker(runner, config, rng=random.Random(7))
    workers.append(worker)
    worker.start()
    return worker


def passes(worker: Worker, outcome: str | None = None) -> float:
    total = 0.0
    for metric in worker.metrics.registry.collect():
        if metric.name == "reconciler_passes":
            for sample in metric.samples:
                if sample.name.endswith("_total") and (
                    outcome is None or sample.labels["outcome"] == outcome
                ):
                    total += sample.value
    return total


def test_startup_pass_then_idle(workers: list[Worker]) -> None:
    runner = ScriptedRunner()
    worker = start(workers, runner)
    assert worker.wait_for_passes(1, 5)
    assert worker.wait_idle(5)
    assert len(runner.calls) == 1
    assert worker.status.snapshot()["lastPass"]["trigger"] == "startup"
    assert worker.status.condition("Ready").status == "True"
    assert worker.status.ready() == (True, "last pass: no_changes")


def test_burst_of_notifications_coalesces_into_one_pass(workers: list[Worker]) -> None:
    runner = ScriptedRunner()
    worker = start(workers, runner)
    assert worker.wait_for_passes(1, 5) and worker.wait_idle(5)
    for i in range(50):
        worker.notify_change(f"f{i}")
    assert worker.wait_for_passes(2, 5)
    assert worker.wait_idle(5)
    assert len(runner.calls) == 2
    assert runner.calls[1].at - runner.calls[0].at >= FAST.debounce
    # A change-triggered pass may observe only what changed; the startup pass all.
    assert [c.changed_only for c in runner.calls] == [False, True]


def test_steady_stream_still_gets_a_pass_at_debounce_max(workers: list[Worker]) -> None:
    config = WorkerConfig(debounce=0.2, debounce_max=0.3, resync_interval=0)
    runner = ScriptedRunner()
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5) and worker.wait_idle(5)
    stop = threading.Event()

    def stream() -> None:
        while not stop.wait(0.02):  # an event every 20 ms: never 200 ms of quiet
            worker.notify_change("x")

    t = threading.Thread(target=stream)
    t.start()
    try:
        assert worker.wait_for_passes(2, 2), "debounce_max did not cut the stream"
    finally:
        stop.set()
        t.join()


def test_events_during_a_pass_cause_exactly_one_follow_up(workers: list[Worker]) -> None:
    gate = threading.Event()
    runner = ScriptedRunner(gate=gate)
    worker = start(workers, runner)
    assert runner.in_pass.wait(5)
    for i in range(10):
        worker.notify_change(f"f{i}")
    gate.set()
    assert worker.wait_for_passes(2, 5)
    assert worker.wait_idle(5)
    assert len(runner.calls) == 2
    assert worker.status.snapshot()["lastPass"]["trigger"] == "change"


def test_backoff_sequence_is_exponential_with_jitter_and_capped() -> None:
    backoff = Backoff(1.0, 300.0, random.Random(1))
    delays = [backoff.delay(n) for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        step = min(300.0, 2.0 ** (n - 1))
        assert step <= d <= min(300.0, step * 1.5)
    assert delays[-1] == 300.0
    assert backoff.delay(0) == 0.0
    assert Backoff(1.0, 300.0, random.Random(1)).delay(10_000) == 300.0


def test_failed_passes_are_retried_with_growing_delays(workers: list[Worker]) -> None:
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.FAILED, 1, errors=("throttled",), error_class=ErrorClass.RETRYABLE)
            if i < 4
            else report(Outcome.APPLIED, 1)
        )
    )
    worker = start(workers, runner)
    assert worker.wait_for_passes(5, 10)
    gaps = [b.at - a.at for a, b in zip(runner.calls, runner.calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2 and gaps[3] >= 0.2
    assert gaps[3] < 0.2 + 0.5  # capped (slack for a slow machine)
    assert passes(worker, "failed") == 4
    snap = worker.status.snapshot()
    assert snap["retry"] is None and snap["lastError"]["errors"] == ["throttled"]
    assert worker.status.condition("Ready").reason == "Applied"


def test_retry_state_is_visible_while_failing(workers: list[Worker]) -> None:
    config = WorkerConfig(resync_interval=0, backoff_min=30, backoff_max=60)
    runner = ScriptedRunner(
        script=lambda i, dry: report(
            Outcome.FAILED, errors=("ServiceUnavailable",), reason="ServiceUnavailable"
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    snap = worker.status.snapshot()
    assert snap["retry"]["failures"] == 1
    assert snap["lastError"]["errorClass"] == "retryable"
    assert worker.status.condition("Reconciling").reason == "RetryScheduled"
    assert worker.status.condition("Ready").reason == "ServiceUnavailable"
    assert worker.status.condition("Stalled").status == "False"
    assert worker.status.ready()[0]  # AWS failures do not flip readiness


def test_throttling_waits_at_least_what_the_error_asks(workers: list[Worker]) -> None:
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.FAILED, errors=("Throttling",), reason="Throttling", retry_after=0.4)
            if i == 0
            else report(Outcome.NO_CHANGES)
        )
    )
    worker = start(workers, runner)  # backoff_min 0.05: the throttle's 0.4 s wins
    assert worker.wait_for_passes(2, 5)
    assert runner.calls[1].at - runner.calls[0].at >= 0.4


def test_a_fatal_error_stalls_until_the_input_changes_or_an_operator_asks(
    workers: list[Worker],
) -> None:
    """Fatal (AccessDenied, a failed test gate): Stalled=True, no back-off retries, no
    resync passes; a change or POST /reconcile runs the next pass."""
    config = WorkerConfig(debounce=0.01, resync_interval=0.1, resync_jitter=0, backoff_min=0.01)
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(
                Outcome.FAILED,
                errors=("UpdateKeys: AccessDeniedException: not authorized",),
                error_class=ErrorClass.FATAL,
                reason="AccessDeniedException",
            )
            if i < 2
            else report(Outcome.NO_CHANGES)
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    assert not worker.wait_for_passes(2, 0.5)  # five resync periods: nothing ran
    stalled = worker.status.condition("Stalled")
    assert stalled.status == "True" and stalled.reason == "AccessDeniedException"
    assert "not authorized" in stalled.message
    assert worker.status.condition("Reconciling").reason == "Stalled"
    assert worker.status.snapshot()["retry"] is None
    assert worker.metrics.stalled._value.get() == 1  # type: ignore[attr-defined]
    worker.request(Trigger.MANUAL)  # an operator asks
    assert worker.wait_for_passes(2, 5)
    assert worker.status.condition("Stalled").status == "True"  # still fatal
    worker.notify_change("routes/tiers.yaml")  # the input changes
    assert worker.wait_for_passes(3, 5)
    assert worker.status.condition("Stalled").status == "False"
    assert worker.metrics.stalled._value.get() == 0  # type: ignore[attr-defined]


def test_invalid_files_wait_for_a_change(workers: list[Worker]) -> None:
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(
                Outcome.INVALID,
                errors=("routes/tiers.yaml:3:1: kind: bad",),
                reason="InvalidRouteFiles",
                error_class=ErrorClass.FATAL,
            )
            if i == 0
            else report(Outcome.APPLIED, 1)
        )
    )
    worker = start(workers, runner)
    assert worker.wait_for_passes(1, 5)
    assert worker.wait_idle(5)  # nothing due: no retry of an invalid set
    assert not worker.wait_for_passes(2, 0.3)
    assert worker.status.snapshot()["retry"] is None
    assert worker.status.condition("Stalled").reason == "InvalidRouteFiles"
    assert worker.status.ready() == (False, "the route files are invalid (see /status)")
    worker.notify_change("routes/tiers.yaml")
    assert worker.wait_for_passes(2, 5)
    assert worker.status.condition("Stalled").status == "False"
    assert worker.status.ready()[0]


def test_refused_plan_waits_for_a_change_not_the_resync(workers: list[Worker]) -> None:
    config = WorkerConfig(debounce=0.05, resync_interval=0.1, resync_jitter=0)
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.REFUSED, 3, errors=("prune guard",), reason="PlanRefused")
            if i == 0
            else report(Outcome.NO_CHANGES)
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    assert worker.status.condition("Stalled").reason == "PlanRefused"
    assert not worker.wait_for_passes(2, 0.4)
    worker.notify_change("routes/policy.yaml")
    assert worker.wait_for_passes(2, 5)
    assert worker.status.snapshot()["lastPass"]["trigger"] == "change"


def test_drift_the_engine_corrected_is_reported_and_counted(workers: list[Worker]) -> None:
    config = WorkerConfig(resync_interval=0)
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.NO_CHANGES) if i == 0 else report(Outcome.APPLIED, 2, drift=2)
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    worker.request(Trigger.RESYNC)
    assert worker.wait_for_passes(2, 5)
    drift = worker.status.snapshot()["drift"]
    assert drift["corrected"] and not drift["detected"] and drift["changes"] == 2
    assert drift["items"][0]["found"] == "old" and drift["items"][0]["declared"] == "new"
    assert worker.metrics.drift_detected._value.get() == 1  # type: ignore[attr-defined]
    assert worker.status.condition("Ready").reason == "Applied"


def test_new_route_files_are_not_drift(workers: list[Worker]) -> None:
    config = WorkerConfig(debounce=0.01, resync_interval=0)
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.NO_CHANGES) if i == 0 else report(Outcome.APPLIED, 1, digest="d2")
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    worker.notify_change("routes/tiers.yaml")
    assert worker.wait_for_passes(2, 5)
    assert worker.metrics.drift_detected._value.get() == 0  # type: ignore[attr-defined]


def test_drift_left_in_place_marks_the_daemon_not_ready(workers: list[Worker]) -> None:
    """Self-heal off: the engine applies new input only and reports the drift it left."""
    config = WorkerConfig(debounce=0.01, resync_interval=0, self_heal=False)
    runner = ScriptedRunner(
        script=lambda i, dry: (
            report(Outcome.NO_CHANGES, 2, drift=2, corrected=False)
            if i == 0
            else report(Outcome.NO_CHANGES)
        )
    )
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    assert worker.status.snapshot()["drift"]["detected"]
    assert worker.status.condition("Ready").reason == "DriftDetected"
    assert worker.metrics.drifted._value.get() == 1  # type: ignore[attr-defined]
    worker.notify_change("x")
    assert worker.wait_for_passes(2, 5)
    assert not worker.status.snapshot()["drift"]["detected"]
    assert worker.metrics.drifted._value.get() == 0  # type: ignore[attr-defined]


def test_a_rejected_candidate_is_recorded(workers: list[Worker]) -> None:
    from reconciler.engine.report import Rejection

    runner = ScriptedRunner(
        script=lambda i, dry: report(
            Outcome.FAILED,
            errors=("function tier-router: tests failed",),
            error_class=ErrorClass.FATAL,
            reason="FunctionTestFailed",
            rejected=(Rejection("tier-router", "abc123", ("test event 'x': expected a, got b",)),),
        )
    )
    worker = start(workers, runner)
    assert worker.wait_for_passes(1, 5)
    snap = worker.status.snapshot()
    assert snap["lastRejection"]["rejected"][0]["function"] == "tier-router"
    assert worker.status.condition("Stalled").reason == "FunctionTestFailed"
    assert worker.metrics.gate_rejections.labels(function="tier-router")._value.get() == 1  # type: ignore[attr-defined]
    assert worker.metrics.drift_detected._value.get() == 0  # type: ignore[attr-defined]


def test_dry_run_mode_never_writes_and_exposes_the_plan(workers: list[Worker]) -> None:
    config = WorkerConfig(debounce=0.01, resync_interval=0, dry_run=True)
    runner = ScriptedRunner(script=lambda i, dry: report(Outcome.PLANNED, 3))
    worker = start(workers, runner, config)
    assert worker.wait_for_passes(1, 5)
    worker.request(Trigger.RESYNC)
    worker.notify_change("x")
    assert worker.wait_for_passes(2, 5)
    assert all(c.dry_run for c in runner.calls)
    plan = worker.status.snapshot()["lastPlan"]
    assert plan["changes"] == 3 and plan["byAction"] == {"update": 3}
    assert plan["items"][0].startswith("update kvs_entry.tier-origins")
    assert worker.status.condition("Ready").reason == "Planned"


def test_suspend_and_resume(workers: list[Worker]) -> None:
    runner = ScriptedRunner()
    worker = Worker(runner, FAST)
    workers.append(worker)
    worker.start(suspended=True)
    worker.notify_change("x")
    assert not worker.wait_for_passes(1, 0.3)
    assert worker.status.snapshot()["suspended"]
    assert worker.metrics.suspended._value.get() == 1  # type: ignore[attr-defined]
    worker.set_suspended(False, why="test")
    assert worker.wait_for_passes(1, 5)
    assert worker.status.snapshot()["lastPass"]["trigger"] == "resume"
    worker.set_suspended(True, why="test")
    worker.request(Trigger.MANUAL)
    assert not worker.wait_for_passes(2, 0.2)


def test_a_crashing_runner_is_a_failed_pass_not_a_dead_worker(workers: list[Worker]) -> None:
    def script(i: int, dry: bool):
        if i == 0:
            raise RuntimeError("bug in the pass")
        return report(Outcome.NO_CHANGES)

    runner = ScriptedRunner(script=script)
    worker = start(workers, runner)
    assert worker.wait_for_passes(2, 5)
    assert worker.healthy()[0]
    assert passes(worker, "failed") == 1
    last = worker.status.snapshot()["lastError"]
    assert last["errorClass"] == "retryable" and last["reason"] == "InternalError"


def test_stop_lets_the_running_pass_finish_and_starts_no_other(workers: list[Worker]) -> None:
    gate = threading.Event()
    runner = ScriptedRunner(gate=gate)
    worker = start(workers, runner)
    assert runner.in_pass.wait(5)
    worker.notify_change("x")
    worker.stop()
    assert not worker.join(0.1)  # still in the pass
    gate.set()
    assert worker.join(5)
    assert len(runner.calls) == 1 and worker.passes_finished == 1


def test_a_pass_running_too_long_makes_the_worker_unhealthy(workers: list[Worker]) -> None:
    gate = threading.Event()
    runner = ScriptedRunner(gate=gate)
    worker = start(workers, runner, WorkerConfig(resync_interval=0, pass_timeout=0.05))
    assert runner.in_pass.wait(5)
    threading.Event().wait(0.1)
    healthy, why = worker.healthy()
    assert not healthy and "running for over" in why
    gate.set()
    assert worker.wait_for_passes(1, 5)
    assert worker.healthy()[0]


def test_schedule_rules_with_a_fake_clock() -> None:
    s = Schedule(
        debounce=0.3, debounce_max=2.0, resync_interval=60, resync_jitter=0.1, rng=random.Random(3)
    )
    s.start(0.0)
    assert s.next_due(0.0).trigger is Trigger.STARTUP
    s.pass_started(0.0)
    assert 54 <= (s.next_resync or 0) <= 66
    s.note_change(1.0)
    assert s.next_due(1.2).trigger is None and s.next_due(1.2).wait == pytest.approx(0.1)
    for t in (1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8):
        s.note_change(t)
    assert s.next_due(2.9).trigger is None
    assert s.next_due(3.0).trigger is Trigger.CHANGE  # 1.0 + debounce_max
    s.pass_started(3.0)
    s.retry_after(3.0, 5.0)
    assert s.next_due(7.9).trigger is None and s.next_due(8.0).trigger is Trigger.RETRY
