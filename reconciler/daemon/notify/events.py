"""Which notification events a finished pass makes (Flux's event reasons, fewer and
defined by what an operator acts on).

    applied          changes were written (not only drift), or the first converged pass of
                     a revision (also "no changes needed"): the revision is live
    recovered        the first converged (or, dry-run, planned) pass after failing ones
    failed           a pass failed and will be retried (retryable or conflict); sent for
                     the first failure of a series and when the reason or revision changes,
                     not for every retry
    stalled          the daemon stalled (fatal error, invalid route files, refused plan):
                     no retries until the input changes; sent when it stalls and when the
                     reason or revision changes
    gate_rejected    the test gate refused candidate function code (nothing published)
    drift_corrected  live values nobody declared were found and restored (self-heal)
    drift_detected   drift was found and not undone (self-heal off, dry-run); sent when
                     the drifted values change

Stateful only to leave repeats out; the state lives in the one worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.daemon.reporting import CONVERGED, Next, PassResult
from reconciler.daemon.values import change_dict, drift_dict
from reconciler.engine.report import Outcome

MAX_ITEMS = 20  # changes or drift items carried by one event


class EventType(StrEnum):
    APPLIED = "applied"
    RECOVERED = "recovered"
    FAILED = "failed"
    STALLED = "stalled"
    GATE_REJECTED = "gate_rejected"
    DRIFT_CORRECTED = "drift_corrected"
    DRIFT_DETECTED = "drift_detected"


SEVERITY = {
    EventType.APPLIED: "info",
    EventType.RECOVERED: "info",
    EventType.FAILED: "error",
    EventType.STALLED: "error",
    EventType.GATE_REJECTED: "error",
    EventType.DRIFT_CORRECTED: "warning",
    EventType.DRIFT_DETECTED: "warning",
}
# The reasons of a stall that are the commit's fault (GitHub: failure, not error).
COMMIT_FAULTS = frozenset({"InvalidRouteFiles", "PlanRefused", "FunctionTestFailed"})


@dataclass(frozen=True)
class Event:
    type: EventType
    title: str
    time: float
    pass_number: int
    trigger: str
    outcome: str
    reason: str
    revision: dict[str, Any] | None
    dry_run: bool
    changes: tuple[dict[str, Any], ...] = ()
    more_changes: int = 0
    errors: tuple[str, ...] = ()
    rejected: tuple[dict[str, Any], ...] = ()

    @property
    def severity(self) -> str:
        return SEVERITY[self.type]

    @property
    def revision_id(self) -> str | None:
        return None if self.revision is None else str(self.revision["revision"])

    def payload(self, source: str) -> dict[str, Any]:
        """The generic webhook body (JSON)."""
        return {
            "event": self.type.value,
            "severity": self.severity,
            "title": self.title,
            "source": source,
            "time": self.time,
            "pass": self.pass_number,
            "trigger": self.trigger,
            "outcome": self.outcome,
            "reason": self.reason or None,
            "revision": self.revision,
            "dryRun": self.dry_run,
            "changes": list(self.changes),
            "moreChanges": self.more_changes,
            "errors": list(self.errors),
            "rejected": list(self.rejected),
        }


@dataclass
class EventDeriver:
    _failure_key: tuple[str, ...] | None = None
    _stall_key: tuple[str, ...] | None = None
    _drift_key: frozenset[tuple[str, str]] | None = None
    _rejection_key: frozenset[tuple[str, str]] | None = None

    def events(self, result: PassResult) -> list[Event]:
        report = result.report
        revision = result.revision.as_dict() if result.revision else None
        rev = result.revision.id[:12] if result.revision else "the route files"
        base: dict[str, Any] = {
            "time": result.finished_at,
            "pass_number": result.number,
            "trigger": result.trigger.value,
            "outcome": report.outcome.value,
            "reason": report.reason,
            "revision": revision,
            "dry_run": result.dry_run,
            "errors": tuple(report.errors[:MAX_ITEMS]),
        }
        out: list[Event] = []
        drifted = {(str(d.change.address), d.change.action.value) for d in report.drift}
        own = [c for c in report.applied if (str(c.address), c.action.value) not in drifted]
        if report.outcome in CONVERGED and (own or result.first_converged_for_revision):
            changes = [change_dict(c) for c in own]
            what = f"{len(own)} changes" if own else "no changes needed"
            out.append(_listing(EventType.APPLIED, f"{rev} applied: {what}", changes, base))
        if report.ok:
            if result.was_failing:
                out.append(Event(EventType.RECOVERED, f"{rev}: {report.outcome.value} again", **base))
            self._failure_key = self._stall_key = None

        first_error = report.errors[0] if report.errors else ""
        if result.next is Next.BACK_OFF:
            failure_key = (report.reason, revision["revision"] if revision else "")
            if failure_key != self._failure_key:
                title = f"{rev}: pass failed ({report.reason or 'error'}), retrying"
                out.append(Event(EventType.FAILED, title, **base))
            self._failure_key = failure_key
        if result.next is Next.STALL:
            stall_key = (report.reason or report.outcome.value, revision["revision"] if revision else "", first_error)
            if stall_key != self._stall_key:
                title = f"{rev}: stalled ({report.reason or report.outcome.value}); waiting for a change"
                out.append(Event(EventType.STALLED, title, **base))
            self._stall_key = stall_key
            self._failure_key = None
        else:
            self._stall_key = None

        if report.rejected:
            rejection_key = frozenset((r.function, r.code) for r in report.rejected)
            if rejection_key != self._rejection_key:
                names = ", ".join(sorted(r.function for r in report.rejected))
                out.append(
                    Event(
                        EventType.GATE_REJECTED,
                        f"{rev}: test gate rejected {names}; nothing published",
                        rejected=tuple(r.as_dict() for r in report.rejected),
                        **base,
                    )
                )
            self._rejection_key = rejection_key
        elif report.ok:
            self._rejection_key = None

        corrected = [d for d in report.drift if d.corrected]
        if corrected:
            items = [drift_dict(d) for d in corrected]
            title = f"drift corrected: {len(items)} live values restored"
            out.append(_listing(EventType.DRIFT_CORRECTED, title, items, base))
        uncorrected = [d for d in report.drift if not d.corrected]
        if uncorrected:
            drift_key = frozenset((str(d.change.address), repr(d.change.before)) for d in uncorrected)
            if drift_key != self._drift_key:
                items = [drift_dict(d) for d in uncorrected]
                title = f"drift detected: {len(items)} live values differ (not undone)"
                out.append(_listing(EventType.DRIFT_DETECTED, title, items, base))
            self._drift_key = drift_key
        elif report.outcome in CONVERGED or report.outcome is Outcome.PLANNED:
            self._drift_key = None
        return out


def _listing(kind: EventType, title: str, items: list[dict[str, Any]], base: dict[str, Any]) -> Event:
    """An event carrying at most MAX_ITEMS changes, and how many more there were."""
    return Event(
        kind,
        title,
        changes=tuple(items[:MAX_ITEMS]),
        more_changes=max(0, len(items) - MAX_ITEMS),
        **base,
    )
