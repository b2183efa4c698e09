"""The one worker thread: runs whole reconcile passes when the schedule says so.

Every trigger (file events, resync timer, retries, HTTP requests, resume) only marks
something as pending and wakes the worker; the worker runs one level-triggered pass that
covers all of it. Nothing here knows what a pass does: it gets a `Runner`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol

import structlog

from reconciler.aws.errors import ErrorClass
from reconciler.core.model import Plan
from reconciler.daemon.backoff import Backoff
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.revision import Revision
from reconciler.daemon.status import StatusBoard, plan_summary, utc_iso
from reconciler.daemon.triggers import Schedule, Trigger
from reconciler.engine.report import Outcome, PassReport


class Runner(Protocol):
    """One whole pass (reconciler.engine.Reconciler.run_pass with the daemon's settings).
    `confirm` is asked with the plan before the first write; False writes nothing.
    `changed_only`: the pass was triggered by a change of the route files, so it may observe
    only what the change touched (resync, startup and retries observe everything)."""

    def __call__(
        self,
        dry_run: bool,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        changed_only: bool = False,
    ) -> PassReport: ...


class _Next(Enum):
    """What the error class of a pass schedules (kopf's Outcome, Flux's Result)."""

    WAIT = "wait"  # converged or dry-run: the next change or resync
    BACK_OFF = "back-off"  # retryable or conflict: retry after a growing delay
    STALL = "stall"  # fatal, invalid, refused: nothing until the input changes


def _schedule_of(report: PassReport) -> _Next:
    if report.outcome in (Outcome.INVALID, Outcome.REFUSED):
        return _Next.STALL
    if report.outcome is not Outcome.FAILED:
        return _Next.WAIT
    if report.error_class is ErrorClass.FATAL:
        return _Next.STALL
    return _Next.BACK_OFF

log = structlog.get_logger("reconciler.daemon")

CONVERGED = frozenset({Outcome.APPLIED, Outcome.NO_CHANGES})
LOGGED_ERRORS = 20


@dataclass(frozen=True)
class WorkerConfig:
    dry_run: bool = False
    self_heal: bool = True
    debounce: float = 0.3
    debounce_max: float = 2.0
    resync_interval: float = 300.0
    resync_jitter: float = 0.1
    backoff_min: float = 1.0
    backoff_max: float = 300.0
    pass_timeout: float = 1800.0


class Worker:
    def __init__(
        self,
        runner: Runner,
        config: WorkerConfig,
        *,
        status: StatusBoard | None = None,
        metrics: DaemonMetrics | None = None,
        revision_of: Callable[[], Revision | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self._runner = runner
        # With leader election: asked right before a pass starts (and before the real
        # call of a no-self-heal pass); None = a single replica, always allowed.
        self._may_write_fn = may_write
        self.config = config
        self.status = status or StatusBoard(dry_run=config.dry_run, self_heal=config.self_heal)
        self.metrics = metrics or DaemonMetrics()
        self._revision_of = revision_of
        self._clock = clock
        rng = rng or random.Random()
        self._schedule = Schedule(
            debounce=config.debounce,
            debounce_max=config.debounce_max,
            resync_interval=config.resync_interval,
            resync_jitter=config.resync_jitter,
            rng=rng,
        )
        self._backoff = Backoff(config.backoff_min, config.backoff_max, rng)
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="reconcile-worker", daemon=True)
        self._stopping = False
        self._suspended = False
        self._running_since: float | None = None
        self._finished = 0
        self._failures = 0
        self._stalled = False

    # --- control (any thread) ---------------------------------------------------------

    def start(self, *, suspended: bool = False) -> None:
        with self._cond:
            self._suspended = suspended
            self._schedule.start(self._clock())
        self._publish_suspended(suspended)
        self._thread.start()

    def notify_change(self, path: str = "") -> None:
        self.metrics.file_events.inc()
        with self._cond:
            if self._stopping:
                return
            self._schedule.note_change(self._clock())
            self._cond.notify_all()

    def request(self, trigger: Trigger = Trigger.MANUAL) -> None:
        with self._cond:
            if self._stopping:
                return
            self._schedule.request(trigger)
            self._cond.notify_all()

    def set_suspended(self, suspended: bool, why: str) -> None:
        with self._cond:
            if suspended == self._suspended:
                return
            self._suspended = suspended
            if not suspended:
                # Level-triggered: one pass catches up with whatever changed meanwhile.
                self._schedule.request(Trigger.RESUME)
            self._cond.notify_all()
        self._publish_suspended(suspended)
        log.info("daemon.suspended" if suspended else "daemon.resumed", why=why)

    def leadership_changed(self, leader: bool) -> None:
        """The elector's news. A new leader runs one pass at once, like a fresh start
        (level-triggered: it catches up with whatever the old leader left)."""
        with self._cond:
            if leader and not self._stopping:
                self._schedule.request(Trigger.STARTUP)
            self._cond.notify_all()
        if not leader:
            self.status.set_condition(
                "Reconciling", "False", "Standby", "another replica holds the lease"
            )

    def _standby(self) -> bool:
        return self._may_write_fn is not None and not self._may_write_fn()

    @property
    def suspended(self) -> bool:
        with self._cond:
            return self._suspended

    def stop(self) -> None:
        """Stop taking triggers; a running pass finishes (it is not interruptible mid-batch)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def healthy(self) -> tuple[bool, str]:
        if not self._thread.is_alive():
            return False, "worker thread is not running"
        with self._cond:
            since = self._running_since
        if since is not None and self._clock() - since > self.config.pass_timeout:
            return False, f"a pass has been running for over {self.config.pass_timeout:.0f}s"
        return True, "ok"

    def wait_for_passes(self, count: int, timeout: float) -> bool:
        """Block until `count` passes have finished in total (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._finished >= count, timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no pass runs and none is due right now."""

        def idle() -> bool:
            return self._running_since is None and (
                self._suspended
                or self._standby()
                or self._schedule.next_due(self._clock()).trigger is None
            )

        with self._cond:
            return self._cond.wait_for(idle, timeout)

    @property
    def passes_finished(self) -> int:
        with self._cond:
            return self._finished

    # --- the loop (worker thread) -----------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                trigger = self._wait_for_due()
                if trigger is None:
                    return
                now = self._clock()
                self._schedule.pass_started(now)
                self._running_since = now
                next_resync = self._schedule.next_resync
            self.status.update(
                running_since=now,
                running_trigger=trigger.value,
                next_resync_at=None if next_resync is None else time.time() + next_resync - now,
            )
            try:
                self._run_pass(trigger)
            except Exception:  # the loop must outlive any bug in recording a pass
                log.exception("daemon.pass_bookkeeping_failed")
            finally:
                with self._cond:
                    self._running_since = None
                    self._finished += 1
                    self._cond.notify_all()
                self.status.update(running_since=None, running_trigger=None)
                self.metrics.pass_running.set(0)

    def _wait_for_due(self) -> Trigger | None:
        while not self._stopping:
            if self._suspended:
                self._cond.wait()
                continue
            if self._standby():
                # Triggers stay pending; the elector notifies when this replica leads.
                # The timeout re-checks in case a notification raced the check.
                self._cond.wait(timeout=1.0)
                continue
            due = self._schedule.next_due(self._clock())
            if due.trigger is Trigger.RESYNC and self._stalled:
                # Stalled (a fatal error, an invalid or refused plan): the same input would
                # fail the same way. Only a change, a new revision, a resume or an operator's
                # request runs the next pass; the resync timer just moves on.
                self._schedule.skip_resync(self._clock())
                continue
            if due.trigger is not None:
                return due.trigger
            self._cond.wait(timeout=due.wait)
        return None

    def _run_pass(self, trigger: Trigger) -> None:
        revision = self._revision_of()
        self.status.update(attempted=revision)
        self.metrics.set_revision("attempted", revision)
        self.metrics.pass_running.set(1)
        self.status.set_condition(
            "Reconciling", "True", "Progressing", f"pass triggered by {trigger}"
        )
        fields = _rev_fields("revision", revision)
        structlog.contextvars.bind_contextvars(**fields)
        try:
            log.info("pass.started", trigger=trigger.value, dry_run=self.config.dry_run)
            report = self._call(changed_only=trigger is Trigger.CHANGE)
            self._record(report, trigger, revision)
        finally:
            structlog.contextvars.unbind_contextvars(*fields)

    def _may_write(self, _plan: Any) -> bool:
        # With leader election: the plan may have taken long enough for the lease to go.
        if self._standby():
            log.warning("pass.not_applied", reason="lease lost before the first write")
            return False
        return True

    def _call(self, *, changed_only: bool = False) -> PassReport:
        started = time.monotonic()
        confirm = self._may_write if self._may_write_fn is not None else None
        try:
            report = self._runner(self.config.dry_run, confirm=confirm, changed_only=changed_only)
        except Exception as exc:  # the engine reports its own failures; this is a bug in it
            log.exception("pass.crashed")
            report = PassReport(
                outcome=Outcome.FAILED,
                errors=(f"{type(exc).__name__}: {exc}",),
                error_class=ErrorClass.RETRYABLE,
                reason="InternalError",
            )
        if not report.duration_seconds:
            report = replace(report, duration_seconds=time.monotonic() - started)
        return report

    def _record(self, report: PassReport, trigger: Trigger, revision: Revision | None) -> None:
        now_wall = time.time()
        outcome = report.outcome
        uncorrected = [d for d in report.drift if not d.corrected]
        summary = plan_summary(report)

        self.metrics.observe_pass(report, trigger.value)
        if report.drift:
            self.metrics.drift_detected.inc()
        for rejection in report.rejected:
            self.metrics.gate_rejections.labels(function=rejection.function).inc()
        if outcome in CONVERGED:
            self.status.update(applied=revision)
            self.metrics.set_revision("applied", revision)
        if report.ok:
            self._failures = 0
            self.metrics.last_success.set(now_wall)
            self.status.update(last_success_at=now_wall)

        schedule = _schedule_of(report)
        retry_in: float | None = None
        with self._cond:
            self._stalled = schedule is _Next.STALL
            if schedule is _Next.BACK_OFF:
                self._failures += 1
                retry_in = max(self._backoff.delay(self._failures), report.retry_after or 0.0)
                self._schedule.retry_after(self._clock(), retry_in)
            self._cond.notify_all()
        if schedule is _Next.STALL:
            self._failures = 0
        self.metrics.consecutive_failures.set(self._failures)
        self.metrics.drifted.set(1 if uncorrected else 0)
        self.metrics.stalled.set(1 if schedule is _Next.STALL else 0)

        last_pass = {
            "outcome": outcome.value,
            "trigger": trigger.value,
            "finishedTime": utc_iso(now_wall),
            "durationSeconds": round(report.duration_seconds, 3),
            "desiredDigest": report.desired_digest,
            "applied": len(report.applied),
            "writeCalls": report.write_calls,
            "calls": dict(report.calls),
            "conflicts": report.conflicts,
            "errors": list(report.errors[:LOGGED_ERRORS]),
            "errorClass": report.error_class.value if report.error_class else None,
            "reason": report.reason or None,
            "notes": list(report.notes),
        }
        fields: dict[str, Any] = {
            "passes": self.status.passes + 1,
            "last_pass": last_pass,
            "last_outcome": outcome,
            "retry": None
            if retry_in is None
            else {"failures": self._failures, "nextAttemptTime": utc_iso(now_wall + retry_in)},
        }
        if summary is not None:
            fields["last_plan"] = summary
        if not report.ok:
            fields["last_error"] = {
                "outcome": outcome.value,
                "errorClass": last_pass["errorClass"],
                "reason": report.reason,
                "errors": list(report.errors[:LOGGED_ERRORS]),
                "time": utc_iso(now_wall),
                "revision": revision.as_dict() if revision else None,
            }
        if report.rejected:
            fields["last_rejection"] = {
                "time": utc_iso(now_wall),
                "revision": revision.as_dict() if revision else None,
                "rejected": [r.as_dict() for r in report.rejected],
            }
        if report.drift:
            fields["drift"] = {
                "detected": bool(uncorrected),
                "corrected": not uncorrected,
                "lastDetectedTime": utc_iso(now_wall),
                "changes": len(report.drift),
                "items": [d.as_dict() for d in report.drift[:LOGGED_ERRORS]],
                "passes": self.status.drift.get("passes", 0) + 1,
            }
        elif outcome in CONVERGED:
            fields["drift"] = {**self.status.drift, "detected": False}
        self.status.update(**fields)
        self._set_conditions(report, bool(uncorrected), retry_in, schedule)
        self._log(report, trigger, summary, retry_in)

    def _set_conditions(
        self, report: PassReport, drifted: bool, retry_in: float | None, schedule: _Next
    ) -> None:
        outcome = report.outcome
        first_error = report.errors[0] if report.errors else ""
        set_ = self.status.set_condition
        if self._standby():  # the lease went during this pass: nothing more runs here
            set_("Reconciling", "False", "Standby", "another replica holds the lease")
        elif schedule is _Next.BACK_OFF:
            set_("Reconciling", "True", "RetryScheduled", f"retrying in {retry_in:.1f}s")
        elif schedule is _Next.STALL:
            set_(
                "Reconciling",
                "False",
                "Stalled",
                "waiting for the route files or revision to change, or POST /reconcile",
            )
        else:
            set_("Reconciling", "False", "Idle", "waiting for a change or the next resync")
        if drifted:
            set_(
                "Ready",
                "False",
                "DriftDetected",
                "live state differs from the route files; self-heal is off",
            )
        elif outcome is Outcome.APPLIED:
            set_("Ready", "True", "Applied", f"{len(report.applied)} changes applied")
        elif outcome is Outcome.NO_CHANGES:
            set_("Ready", "True", "UpToDate", "live state matches the route files")
        elif outcome is Outcome.PLANNED:
            set_("Ready", "True", "Planned", "dry-run: changes planned, nothing written")
        elif outcome is Outcome.INVALID:
            set_("Ready", "False", "InvalidRouteFiles", first_error)
        elif outcome is Outcome.REFUSED:
            set_("Ready", "False", "PlanRefused", first_error or _plan_problem(report))
        else:
            set_("Ready", "False", report.reason or "ApplyFailed", first_error)
        if schedule is _Next.STALL:
            set_("Stalled", "True", report.reason or outcome.value, first_error or _plan_problem(report))
        else:
            set_("Stalled", "False", "Progressing" if schedule is _Next.BACK_OFF else "Healthy", "")

    def _log(
        self,
        report: PassReport,
        trigger: Trigger,
        summary: dict[str, Any] | None,
        retry_in: float | None,
    ) -> None:
        fields: dict[str, Any] = {
            "outcome": report.outcome.value,
            "trigger": trigger.value,
            "duration_seconds": round(report.duration_seconds, 3),
            "applied": len(report.applied),
            "write_calls": report.write_calls,
        }
        if summary is not None:
            fields["plan"] = {k: summary[k] for k in ("changes", "byAction", "byKind")}
            if report.outcome is Outcome.PLANNED:
                fields["plan_items"] = summary["items"]
        if report.errors:
            fields["errors"] = list(report.errors[:LOGGED_ERRORS])
            fields["error_class"] = report.error_class.value if report.error_class else None
            fields["reason"] = report.reason
        if retry_in is not None:
            fields["retry_in_seconds"] = round(retry_in, 2)
            fields["consecutive_failures"] = self._failures
        for drift in report.drift:
            log.warning("drift.detected", **drift.as_dict())
        if report.ok:
            log.info("pass.finished", **fields)
        else:
            log.error("pass.finished", **fields)

    def _publish_suspended(self, suspended: bool) -> None:
        self.status.update(suspended=suspended)
        self.metrics.suspended.set(1 if suspended else 0)
        if suspended:
            self.status.set_condition(
                "Reconciling", "False", "Suspended", "reconciliation is suspended"
            )


def _plan_problem(report: PassReport) -> str:
    if report.plan is None:
        return ""
    problems = [v.message for v in report.plan.violations] + [e.message for e in report.plan.errors]
    return problems[0] if problems else ""


def _rev_fields(prefix: str, revision: Revision | None) -> dict[str, str]:
    if revision is None:
        return {}
    return {prefix: revision.sha, f"{prefix}_subject": revision.subject}
