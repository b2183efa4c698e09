"""Refusing a plan that is not the one the operator saw (Terraform's stale saved plan)."""

from __future__ import annotations

from typing import Any

from reconciler.core.errors import FatalError
from reconciler.core.model import Change, Plan


class StalePlan(FatalError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "StalePlan")


def refuse_if_stale(saved: Plan, fresh: Plan) -> None:
    """A saved plan applies only to the route files and live state it was made from."""
    if saved.desired_digest and saved.desired_digest != fresh.desired_digest:
        raise StalePlan(
            "saved plan is stale: the route files changed since it was made; run plan again"
        )
    before, now = dict(saved.observed_versions), dict(fresh.observed_versions)
    if before != now:
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        raise StalePlan(
            f"saved plan is stale: live state changed since it was made ({', '.join(changed)}); "
            "run plan again"
        )


def _identity(change: Change) -> tuple[Any, ...]:
    # What the operator approved: this value replaced by that one, at this address.
    return (change.address, change.action, repr(change.before), repr(change.after))


def refuse_if_not_shown(shown: Plan, fresh: Plan) -> None:
    """After a conflict, a re-plan may only carry out what is left of the plan that was
    shown (saved or confirmed): every change it makes must be one the operator saw."""
    seen = {_identity(c) for c in shown.changes}
    unseen = [c for c in fresh.changes if _identity(c) not in seen]
    if unseen:
        listed = ", ".join(f"{c.action.value} {c.address}" for c in unseen[:5])
        raise StalePlan(
            f"live state changed during apply and the re-plan differs from the plan shown "
            f"({listed}{', ...' if len(unseen) > 5 else ''}); nothing more applied: run plan again"
        )
