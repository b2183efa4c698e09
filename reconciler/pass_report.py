"""What one reconcile pass reports to whoever scheduled it (CLI, daemon, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.core.model import Change, Plan


class Outcome(StrEnum):
    APPLIED = "applied"  # changes were written and the pass converged
    NO_CHANGES = "no_changes"  # live state already matched
    PLANNED = "planned"  # dry-run: changes found, nothing written
    INVALID = "invalid"  # the route files did not validate: nothing observed or written
    REFUSED = "refused"  # the plan has errors or guard violations: nothing written
    FAILED = "failed"  # an AWS error stopped the pass; `applied` says what landed before it


@dataclass(frozen=True)
class PassReport:
    outcome: Outcome
    plan: Plan | None = None
    applied: tuple[Change, ...] = ()
    # Human-readable problems, one per line, e.g. "routes/tiers.yaml:12:5: spec.entries.x: ..."
    errors: tuple[str, ...] = ()
    # For FAILED: "retryable" | "conflict" | "fatal" (see reconciler.aws.errors.ErrorClass)
    error_class: str | None = None
    duration_seconds: float = 0.0
    write_calls: int = 0
    # Digest of the route files that were read; lets the daemon tell "new input" from "drift".
    desired_digest: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES, Outcome.PLANNED)
