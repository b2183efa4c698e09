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
from pathlib import Path
from typing import Any

import structlog

from reconciler.daemon.backoff import Backoff
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.revision import Revision
from reconciler.daemon.status import StatusBoard, plan_summary, utc_iso
from reconciler.daemon.triggers import Schedule, Trigger
from reconciler.pass_report import Outcome, PassReport

Runner = Callable[[bool], PassReport]  # dry_run -> report of one whole pass

log = structlog.get_logger("reconciler.daemon")

CONVERGED = frozenset({Outcome.APPLIED, Outcome.NO_CHANGES})
# Outcomes that need a human (or a new commit): retrying the same input cannot help.
STALLED = frozenset({Outcome.INVALID, Outcome.REFUSED})
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
        baseline_file: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self._runner = runner
        # With leader election: asked right before a pass starts (and before the real
        # call of a no-self-heal pass); None = a single replica, always allowed.
        self._may_write = may_write
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
        # Digest of the route files as of the last pass that left live state equal to
        # them: a non-empty plan for the same digest means someone changed AWS. Kept in
        # the state dir so that drift made while the daemon was down is still drift.
        self._baseline_file = baseline_file
        self._baseline_digest: str | None = _read_baseline(baseline_file)

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
        return self._may_write is not None and not self._may_write()

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
        # Self-heal off: look first (dry), and write only when the route files are new;
        # the same files with a non-empty plan are drift, which is reported, not undone.
        dry = self.config.dry_run or not self.config.self_heal
        log.info(
            "pass.started", trigger=trigger.value, dry_run=dry, **_rev_fields("revision", revision)
        )
        report = self._call(dry)
        if (
            dry
            and not self.config.dry_run
            and report.outcome is Outcome.PLANNED
            and report.desired_digest != self._baseline_digest
            and not self._lost_lease()
        ):
            log.info("pass.new_input", note="route files changed since last converged: applying")
            report = self._call(False)
        self._record(report, trigger, revision)

    def _lost_lease(self) -> bool:
        # The dry look may have taken long enough for the lease to go: writing needs it.
        if self._standby():
            log.warning("pass.not_applied", reason="lease lost during the dry look")
            return True
        return False

    def _call(self, dry_run: bool) -> PassReport:
        started = time.monotonic()
        try:
            report = self._runner(dry_run)
        except Exception as exc:  # a bug in the pass must not end the daemon
            log.exception("pass.crashed")
            report = PassReport(
                outcome=Outcome.FAILED,
                errors=(f"{type(exc).__name__}: {exc}",),
                error_class="internal",
            )
        if not report.duration_seconds:
            report = replace(report, duration_seconds=time.monotonic() - started)
        return report

    def _record(self, report: PassReport, trigger: Trigger, revision: Revision | None) -> None:
        now_wall = time.time()
        outcome = report.outcome
        planned = report.plan is not None and not report.plan.empty
        drift = bool(
            planned
            and report.desired_digest
            and report.desired_digest == self._baseline_digest
            and outcome is not Outcome.INVALID
        )
        corrected = drift and outcome is Outcome.APPLIED
        summary = plan_summary(report)

        self.metrics.observe_pass(report, trigger.value)
        if drift:
            self.metrics.drift_detected.inc()
        if outcome in CONVERGED:
            if report.desired_digest and report.desired_digest != self._baseline_digest:
                self._baseline_digest = report.desired_digest
                _write_baseline(self._baseline_file, report.desired_digest)
            self.status.update(applied=revision)
            self.metrics.set_revision("applied", revision)
        success = report.ok
        if success:
            self._failures = 0
            self.metrics.last_success.set(now_wall)
            self.status.update(last_success_at=now_wall)

        retry_in: float | None = None
        if outcome is Outcome.FAILED:
            self._failures += 1
            retry_in = self._backoff.delay(self._failures)
            with self._cond:
                self._schedule.retry_after(self._clock(), retry_in)
                self._cond.notify_all()
        self.metrics.consecutive_failures.set(self._failures)
        self.metrics.drifted.set(1 if drift and not corrected else 0)

        last_pass = {
            "outcome": outcome.value,
            "trigger": trigger.value,
            "finishedTime": utc_iso(now_wall),
            "durationSeconds": round(report.duration_seconds, 3),
            "desiredDigest": report.desired_digest,
            "applied": len(report.applied),
            "writeCalls": report.write_calls,
            "errors": list(report.errors[:LOGGED_ERRORS]),
            "errorClass": report.error_class,
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
        if not success:
            fields["last_error"] = {
                "outcome": outcome.value,
                "errorClass": report.error_class,
                "errors": list(report.errors[:LOGGED_ERRORS]),
                "time": utc_iso(now_wall),
                "revision": revision.as_dict() if revision else None,
            }
        if drift:
            fields["drift"] = {
                "detected": not corrected,
                "corrected": corrected,
                "lastDetectedTime": utc_iso(now_wall),
                "changes": summary["changes"] if summary else 0,
                "passes": self.status.drift.get("passes", 0) + 1,
            }
        elif outcome in CONVERGED:
            fields["drift"] = {**self.status.drift, "detected": False}
        self.status.update(**fields)
        self._set_conditions(report, drift and not corrected, retry_in)
        self._log(report, trigger, revision, summary, drift, corrected, retry_in)

    def _set_conditions(self, report: PassReport, drifted: bool, retry_in: float | None) -> None:
        outcome = report.outcome
        first_error = report.errors[0] if report.errors else ""
        set_ = self.status.set_condition
        if self._standby():  # the lease went during this pass: nothing more runs here
            set_("Reconciling", "False", "Standby", "another replica holds the lease")
        elif outcome is Outcome.FAILED:
            set_("Reconciling", "True", "RetryScheduled", f"retrying in {retry_in:.1f}s")
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
            set_("Ready", "False", "ApplyFailed", f"{report.error_class}: {first_error}")
        if outcome is Outcome.INVALID:
            set_("Stalled", "True", "InvalidRouteFiles", "waiting for the route files to change")
        elif outcome is Outcome.REFUSED:
            set_("Stalled", "True", "PlanRefused", "waiting for a change or the next resync")
        else:
            set_("Stalled", "False", "Progressing" if outcome is Outcome.FAILED else "Healthy", "")

    def _log(
        self,
        report: PassReport,
        trigger: Trigger,
        revision: Revision | None,
        summary: dict[str, Any] | None,
        drift: bool,
        corrected: bool,
        retry_in: float | None,
    ) -> None:
        fields: dict[str, Any] = {
            "outcome": report.outcome.value,
            "trigger": trigger.value,
            "duration_seconds": round(report.duration_seconds, 3),
            "applied": len(report.applied),
            **_rev_fields("revision", revision),
        }
        if summary is not None:
            fields["plan"] = {k: summary[k] for k in ("changes", "byAction", "byKind")}
            if report.outcome is Outcome.PLANNED or drift:
                fields["plan_items"] = summary["items"]
        if report.errors:
            fields["errors"] = list(report.errors[:LOGGED_ERRORS])
            fields["error_class"] = report.error_class
        if retry_in is not None:
            fields["retry_in_seconds"] = round(retry_in, 2)
            fields["consecutive_failures"] = self._failures
        if drift:
            log.warning("drift.detected", corrected=corrected, **fields)
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


def _read_baseline(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write_baseline(path: Path | None, digest: str) -> None:
    if path is None:
        return
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(digest + "\n")
        tmp.replace(path)  # atomic: a crash leaves the old digest or the new, never half
    except OSError as exc:  # a read-only state dir costs only drift detection across restarts
        log.warning("daemon.baseline_not_saved", path=str(path), error=str(exc))


def _plan_problem(report: PassReport) -> str:
    if report.plan is None:
        return ""
    problems = [v.message for v in report.plan.violations] + [e.message for e in report.plan.errors]
    return problems[0] if problems else ""


def _rev_fields(prefix: str, revision: Revision | None) -> dict[str, str]:
    if revision is None:
        return {}
    return {prefix: revision.sha, f"{prefix}_subject": revision.subject}
