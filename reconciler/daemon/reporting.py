"""What a finished pass means for whoever watches: the schedule it leads to (from its
error class), the /status fields, the conditions and the `pass.finished` log event.

The worker decides when passes run; this module only describes one that ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog

from reconciler.core.errors import ErrorClass
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.revision import Revision
from reconciler.daemon.status import StatusBoard, utc_iso
from reconciler.daemon.triggers import Trigger
from reconciler.daemon.values import drift_dict, plan_summary
from reconciler.engine.report import Outcome, PassReport

log = structlog.get_logger("reconciler.daemon")

CONVERGED = frozenset({Outcome.APPLIED, Outcome.NO_CHANGES})
LOGGED_ERRORS = 20


class Next(Enum):
    """What the error class of a pass schedules (kopf's Outcome, Flux's Result)."""

    WAIT = "wait"  # converged or dry-run: the next change or resync
    BACK_OFF = "back-off"  # retryable or conflict: retry after a growing delay
    STALL = "stall"  # fatal, invalid, refused: nothing until the input changes


def next_step(report: PassReport) -> Next:
    if report.outcome in (Outcome.INVALID, Outcome.REFUSED):
        return Next.STALL
    if report.outcome is not Outcome.FAILED:
        return Next.WAIT
    if report.error_class is ErrorClass.FATAL:
        return Next.STALL
    return Next.BACK_OFF


@dataclass(frozen=True)
class PassResult:
    """One finished pass and what the daemon made of it (also what notifications read)."""

    number: int  # 1 for the first pass of this process
    report: PassReport
    trigger: Trigger
    revision: Revision | None
    next: Next
    retry_in: float | None
    failures: int  # consecutive failed passes, this one included
    was_stalled: bool  # the daemon was stalled before this pass
    was_failing: bool  # the previous pass did not succeed (failed, invalid, refused)
    request: int | None  # the highest reconcile request this pass took up
    finished_at: float  # wall clock
    dry_run: bool
    first_converged_for_revision: bool  # converged, and no earlier pass converged on it

    @property
    def uncorrected_drift(self) -> bool:
        return any(not d.corrected for d in self.report.drift)


def observe_metrics(metrics: DaemonMetrics, result: PassResult, failures_now: int) -> None:
    report = result.report
    metrics.observe_pass(report, result.trigger.value)
    if report.drift:
        metrics.drift_detected.inc()
    for rejection in report.rejected:
        metrics.gate_rejections.labels(function=rejection.function).inc()
    metrics.consecutive_failures.set(failures_now)
    metrics.drifted.set(1 if result.uncorrected_drift else 0)
    metrics.stalled.set(1 if result.next is Next.STALL else 0)


def status_fields(result: PassResult, board: StatusBoard) -> dict[str, Any]:
    report, revision = result.report, result.revision
    now = result.finished_at
    summary = plan_summary(report)
    last_pass = {
        "number": result.number,
        "outcome": report.outcome.value,
        "trigger": result.trigger.value,
        "revision": revision.id if revision else None,
        "request": result.request,
        "finishedTime": utc_iso(now),
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
        "passes": result.number,
        "last_pass": last_pass,
        "last_outcome": report.outcome,
        "retry": None
        if result.retry_in is None
        else {"failures": result.failures, "nextAttemptTime": utc_iso(now + result.retry_in)},
    }
    if summary is not None:
        fields["last_plan"] = summary
    if result.request is not None:
        fields["requests"] = {
            "lastHandled": result.request,
            "pass": result.number,
            "outcome": report.outcome.value,
            "revision": last_pass["revision"],
            "finishedTime": last_pass["finishedTime"],
        }
    if not report.ok:
        fields["last_error"] = {
            "outcome": report.outcome.value,
            "errorClass": last_pass["errorClass"],
            "reason": report.reason,
            "errors": list(report.errors[:LOGGED_ERRORS]),
            "time": utc_iso(now),
            "revision": revision.as_dict() if revision else None,
        }
    if report.rejected:
        fields["last_rejection"] = {
            "time": utc_iso(now),
            "revision": revision.as_dict() if revision else None,
            "rejected": [r.as_dict() for r in report.rejected],
        }
    if report.drift:
        uncorrected = result.uncorrected_drift
        fields["drift"] = {
            "detected": uncorrected,
            "corrected": not uncorrected,
            "lastDetectedTime": utc_iso(now),
            "changes": len(report.drift),
            "items": [drift_dict(d) for d in report.drift[:LOGGED_ERRORS]],
            "passes": board.drift.get("passes", 0) + 1,
        }
    elif report.outcome in CONVERGED:
        fields["drift"] = {**board.drift, "detected": False}
    return fields


def set_conditions(board: StatusBoard, result: PassResult, standby: bool) -> None:
    report, outcome = result.report, result.report.outcome
    first_error = report.errors[0] if report.errors else ""
    set_ = board.set_condition
    if standby:  # the lease went during this pass: nothing more runs here
        set_("Reconciling", "False", "Standby", "another replica holds the lease")
    elif result.next is Next.BACK_OFF:
        set_("Reconciling", "True", "RetryScheduled", f"retrying in {result.retry_in or 0:.1f}s")
    elif result.next is Next.STALL:
        set_(
            "Reconciling",
            "False",
            "Stalled",
            "waiting for the route files or revision to change, or POST /reconcile",
        )
    else:
        set_("Reconciling", "False", "Idle", "waiting for a change or the next resync")
    if result.uncorrected_drift:
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
        set_("Ready", "False", "PlanRefused", first_error or plan_problem(report))
    else:
        set_("Ready", "False", report.reason or "ApplyFailed", first_error)
    if result.next is Next.STALL:
        set_("Stalled", "True", report.reason or outcome.value, first_error or plan_problem(report))
    else:
        set_("Stalled", "False", "Progressing" if result.next is Next.BACK_OFF else "Healthy", "")


def log_pass(result: PassResult) -> None:
    report = result.report
    summary = plan_summary(report)
    fields: dict[str, Any] = {
        "outcome": report.outcome.value,
        "trigger": result.trigger.value,
        "pass": result.number,
        "duration_seconds": round(report.duration_seconds, 3),
        "applied": len(report.applied),
        "write_calls": report.write_calls,
    }
    if result.request is not None:
        fields["request_id"] = result.request
    if summary is not None:
        fields["plan"] = {k: summary[k] for k in ("changes", "byAction", "byKind")}
        if report.outcome is Outcome.PLANNED:
            # What a dry-run would do, with the values before and after.
            fields["plan_items"] = summary["items"]
            fields["plan_changes"] = summary["detail"]
    if report.errors:
        fields["errors"] = list(report.errors[:LOGGED_ERRORS])
        fields["error_class"] = report.error_class.value if report.error_class else None
        fields["reason"] = report.reason
    if result.retry_in is not None:
        fields["retry_in_seconds"] = round(result.retry_in, 2)
        fields["consecutive_failures"] = result.failures
    for drift in report.drift:
        log.warning("drift.detected", **drift_dict(drift))
    if report.ok:
        log.info("pass.finished", **fields)
    else:
        log.error("pass.finished", **fields)


def plan_problem(report: PassReport) -> str:
    if report.plan is None:
        return ""
    problems = [v.message for v in report.plan.violations] + [e.message for e in report.plan.errors]
    return problems[0] if problems else ""


def rev_fields(revision: Revision | None) -> dict[str, Any]:
    """What the worker binds into structlog's context for the duration of a pass: every
    log line of the pass (engine included) carries the revision."""
    if revision is None:
        return {}
    fields: dict[str, Any] = {"revision": revision.id, "revision_subject": revision.subject}
    return fields
