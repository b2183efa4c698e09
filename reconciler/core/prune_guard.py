"""The prune guard: may one prune delete this many keys of a store or items of a table?

Pure. The verdict carries every number of the rule, whether the prune is allowed or
refused, so plans and logs can state it (a guard that allowed 3 of 4 deletes under a
25 % limit because of an undocumented allowance is what this replaces).
"""

from __future__ import annotations

from decimal import Decimal

from reconciler.core.model import GuardDecision, GuardViolation, ResourceKind
from reconciler.core.state import PruneGuard

_NOUN = {ResourceKind.KEY_VALUE_STORE: ("store", "keys"), ResourceKind.TABLE: ("table", "items")}


def decide(
    kind: ResourceKind,
    container: str,
    existing: int,
    deletes: int,
    remaining: int,
    guard: PruneGuard,
) -> GuardDecision:
    """The verdict on `deletes` of `existing` keys, leaving `remaining` (0: emptied)."""
    limit = guard.allowed_deletes(existing)
    too_many = deletes > limit
    empties = deletes > 0 and remaining == 0
    refused_empty = empties and not guard.allow_empty
    within_rule = not too_many and not refused_empty
    allowed = within_rule or guard.allow_mass_delete
    what, unit = _NOUN[kind]
    share = f"{deletes / existing:.0%}" if existing else "0%"
    head = f"prune guard, {what} {container}: delete {deletes} of {existing} ({share})"
    rule = (
        f"limit {limit} = max(floor(maxDeleteFraction {_number(guard.max_delete_fraction)} * "
        f"{existing} {unit}), minDeletesAllowed {guard.min_deletes_allowed})"
    )
    outcome = (
        f"{remaining} {unit} remain"
        if not empties
        else f"empties the {what}, allowEmpty is {str(guard.allow_empty).lower()}"
    )
    if within_rule:
        message = f"{head}: allowed ({rule}; {outcome})"
    else:
        broken = []
        if too_many:
            broken.append(f"more than the {rule}")
        if refused_empty:
            broken.append(f"it empties the {what} and allowEmpty is false")
        if guard.allow_mass_delete:
            message = f"{head}: allowed by --allow-mass-delete although " + " and ".join(broken)
        else:
            message = (
                f"{head}: refused: "
                + " and ".join(broken)
                + ". Raise maxDeleteFraction or minDeletesAllowed"
                + (" (or set allowEmpty: true)" if refused_empty else "")
                + " in the policy or this document's pruneGuard, or pass --allow-mass-delete for one run"
            )
    return GuardDecision(
        kind=kind,
        container=container,
        existing=existing,
        deletes=deletes,
        remaining=remaining,
        max_delete_fraction=guard.max_delete_fraction,
        min_deletes_allowed=guard.min_deletes_allowed,
        allowed_deletes=limit,
        allow_empty=guard.allow_empty,
        allow_mass_delete=guard.allow_mass_delete,
        allowed=allowed,
        message=message,
    )


def violation(decision: GuardDecision) -> GuardViolation | None:
    if decision.allowed:
        return None
    return GuardViolation(decision.container, decision.deletes, decision.existing, decision.message)


def _number(value: float) -> str:
    # The number as the policy wrote it: 0.25, 1, 0.1 (not 0.1000000000000000055...).
    text = format(Decimal(repr(value)).normalize(), "f")
    return text
