"""The one worker thread: runs whole reconcile passes when the schedule says so.

Every trigger (file events, resync timer, retries, HTTP requests, resume) only marks
something pending and wakes the worker, which runs one level-triggered pass covering all
of it. Nothing here knows what a pass does: it gets a `Runner`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog

from reconciler.core.errors import ErrorClass
from reconciler.core.model import Plan
from reconciler.daemon.backoff import Backoff
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.reporting import (
    CONVERGED,
    Next,
    PassResult,
    log_pass,
    next_step,
    observe_metrics,
    rev_fields,
    set_conditions,
    status_fields,
)
from reconciler.daemon.revision import Revision
from reconciler.daemon.status import StatusBoard
from reconciler.daemon.triggers import Schedule, Trigger
from reconciler.engine.report import Outcome, PassReport


class Runner(Protocol):
    """One whole pass (Reconciler.run_pass with the daemon's settings). `confirm`: asked
    before the first write (False writes nothing); `changed_only`: a route-file change
    triggered it, so it may observe only what the change touched."""

    def __call__(
        self, dry_run: bool, *, confirm: Callable[[Plan], bool] | None = ..., changed_only: bool = ...
    ) -> PassReport: ...  # fmt: skip


log = structlog.get_logger("reconciler.daemon")
# Told about every finished pass (notifications); must not block (they enqueue).
PassListener = Callable[[PassResult], None]


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
        self._failing = False
        self._listeners: list[PassListener] = []
        # Reconcile requests (POST /reconcile, webhooks) carry increasing ids; a pass takes
        # up every id pending when it starts (`reconcile --wait` polls for it).
        self._pending_request: int | None = None
        self._converged: set[str] = set()  # the revision last converged on
        self._current: tuple[int, float, str, Revision | None] | None = None

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

    def request(self, trigger: Trigger = Trigger.MANUAL, request_id: int | None = None) -> None:
        with self._cond:
            if self._stopping:
                return
            self._schedule.request(trigger)
            if request_id is not None:
                self._pending_request = max(self._pending_request or 0, request_id)
            self._cond.notify_all()
        if request_id is not None:
            self.status.update(pending_request=request_id)

    def add_listener(self, listener: PassListener) -> None:
        self._listeners.append(listener)

    def running(self) -> tuple[int, float, str, Revision | None] | None:
        """(pass number, monotonic start, trigger, revision) of the pass running now."""
        with self._cond:
            return self._current

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
                request, self._pending_request = self._pending_request, None
                number = self._finished + 1
            self.status.update(
                running_since=now,
                running_trigger=trigger.value,
                running_pass=number,
                running_started_at=time.time(),
                running_request=request,
                pending_request=None,
                next_resync_at=None if next_resync is None else time.time() + next_resync - now,
            )
            try:
                self._run_pass(number, trigger, request, now)
            except Exception:  # the loop must outlive any bug in recording a pass
                log.exception("pass.bookkeeping_failed")
            finally:
                with self._cond:
                    self._running_since = None
                    self._current = None
                    self._finished += 1
                    self._cond.notify_all()
                self.status.update(
                    running_since=None, running_trigger=None, running_pass=None, running_request=None
                )
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

    def _run_pass(self, number: int, trigger: Trigger, request: int | None, started: float) -> None:
        revision = self._revision_of()
        with self._cond:
            self._current = (number, started, trigger.value, revision)
        self.status.update(attempted=revision)
        self.metrics.set_revision("attempted", revision)
        self.metrics.pass_running.set(1)
        self.status.set_condition(
            "Reconciling", "True", "Progressing", f"pass triggered by {trigger}"
        )
        fields = rev_fields(revision)
        structlog.contextvars.bind_contextvars(**fields)
        try:
            log.info(
                "pass.started",
                trigger=trigger.value,
                dry_run=self.config.dry_run,
                pass_number=number,
                request_id=request,
                dirty=revision.dirty if revision else None,
            )
            # Only a change of the route files may observe just what it touched; resyncs,
            # retries, webhooks and an operator's request observe everything.
            report = self._call(changed_only=trigger is Trigger.CHANGE)
            self._record(number, report, trigger, revision, request)
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

    def _record(
        self,
        number: int,
        report: PassReport,
        trigger: Trigger,
        revision: Revision | None,
        request: int | None,
    ) -> None:
        now_wall = time.time()
        first_for_revision = False
        if report.outcome in CONVERGED:
            self.status.update(applied=revision)
            self.metrics.set_revision("applied", revision)
            first_for_revision = revision is not None and revision.id not in self._converged
            self._converged = {revision.id} if revision is not None else set()
        if report.ok:
            self._failures = 0
            self.metrics.last_success.set(now_wall)
            self.status.update(last_success_at=now_wall)

        schedule = next_step(report)
        retry_in: float | None = None
        with self._cond:
            was_stalled, was_failing = self._stalled, self._failing
            self._stalled = schedule is Next.STALL
            self._failing = not report.ok
            if schedule is Next.BACK_OFF:
                self._failures += 1
                retry_in = max(self._backoff.delay(self._failures), report.retry_after or 0.0)
                self._schedule.retry_after(self._clock(), retry_in)
            self._cond.notify_all()
        failures = self._failures
        if schedule is Next.STALL:
            self._failures = 0
        result = PassResult(
            number=number,
            report=report,
            trigger=trigger,
            revision=revision,
            next=schedule,
            retry_in=retry_in,
            failures=failures,
            was_stalled=was_stalled,
            was_failing=was_failing,
            request=request,
            finished_at=now_wall,
            dry_run=self.config.dry_run,
            first_converged_for_revision=first_for_revision,
        )
        observe_metrics(self.metrics, result, self._failures)
        self.status.update(**status_fields(result, self.status))
        set_conditions(self.status, result, self._standby())
        log_pass(result)
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:  # a listener's bug must not stop the worker
                log.exception("pass.listener_failed", listener=getattr(listener, "__name__", "?"))

    def _publish_suspended(self, suspended: bool) -> None:
        self.status.update(suspended=suspended)
        self.metrics.suspended.set(1 if suspended else 0)
        if suspended:
            self.status.set_condition("Reconciling", "False", "Suspended", "reconciliation is suspended")
