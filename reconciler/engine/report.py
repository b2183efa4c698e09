"""What one reconcile pass reports to whoever scheduled it (CLI, daemon, benchmarks).

It says what the adapters did (`done`, `calls`), not what was planned: a pass that failed
half-way reports the changes that landed before the failure, and nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.errors import ErrorClass
from reconciler.core.model import Change, Plan


class Outcome(StrEnum):
    APPLIED = "applied"  # changes were written and the pass converged
    NO_CHANGES = "no_changes"  # live state already matched
    PLANNED = "planned"  # dry-run (or nothing confirmed): changes found, nothing written
    INVALID = "invalid"  # the route files did not validate: nothing observed or written
    REFUSED = "refused"  # the plan has errors or guard violations: nothing written
    FAILED = "failed"  # an error stopped the pass; `applied` says what landed before it


@dataclass(frozen=True)
class Drift:
    """A live value the reconciler did not write, found where the route files did not
    change since the last convergence: what was found and what the route files declare."""

    change: Change
    corrected: bool  # written back in this pass (self-heal on and the pass applied it)

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": str(self.change.address),
            "action": self.change.action.value,
            "found": self.change.before,
            "declared": self.change.after,
            "corrected": self.corrected,
        }


@dataclass(frozen=True)
class Rejection:
    """A candidate the test gate refused: it was not published, the last good one stays."""

    function: str
    code: str  # short hash of the rejected code / package
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"function": self.function, "code": self.code, "problems": list(self.problems)}


@dataclass
class ChangeSet:
    """What the phases actually did, appended to as each write lands (Flux's ChangeSet):
    a failure half-way still reports everything before it."""

    applied: list[Change] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # write operation -> count
    notes: list[str] = field(default_factory=list)

    def record(self, change: Change | None, *operations: str) -> None:
        if change is not None:
            self.applied.append(change)
        self.calls.update(operations)

    @property
    def write_calls(self) -> int:
        return sum(self.calls.values())


@dataclass(frozen=True)
class PassReport:
    outcome: Outcome
    plan: Plan | None = None
    applied: tuple[Change, ...] = ()
    # Human-readable problems, one per line, e.g. "routes/tiers.yaml:12:5: spec.entries.x: ..."
    errors: tuple[str, ...] = ()
    error_class: ErrorClass | None = None  # for FAILED
    reason: str = ""  # CamelCase: the AWS error code, "FunctionTestFailed", "InvalidRouteFiles"
    retry_after: float | None = None  # at least this long before retrying (throttling)
    duration_seconds: float = 0.0
    calls: tuple[tuple[str, int], ...] = ()  # write operations sent, by name
    conflicts: int = 0  # stale ETags met (each re-planned, up to MAX_CONFLICT_REPLANS)
    # Digest of the route files that were read; lets the daemon tell "new input" from "drift".
    desired_digest: str = ""
    drift: tuple[Drift, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES, Outcome.PLANNED)

    @property
    def write_calls(self) -> int:
        return sum(n for _, n in self.calls)
