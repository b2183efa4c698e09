"""Plan <-> JSON-compatible dict, so a plan can be saved with `plan --out` and applied later."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import (
    Action,
    Address,
    Change,
    GuardDecision,
    GuardViolation,
    Phase,
    Plan,
    PlanError,
    ResourceKind,
)
from reconciler.core.plan_fields import ADDED, CHANGED, REMOVED, field_changes

FORMAT_VERSION = 1
_CHANGE_WORD = {ADDED: "added", REMOVED: "removed", CHANGED: "changed"}


def _address(a: Address) -> dict[str, Any]:
    return {"kind": a.kind.value, "container": a.container, "key": a.key}


def _address_from(d: dict[str, Any]) -> Address:
    return Address(ResourceKind(d["kind"]), d["container"], d.get("key"))


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "formatVersion": FORMAT_VERSION,
        "desiredDigest": plan.desired_digest,
        "observedVersions": dict(plan.observed_versions),
        "summary": {a.value: n for a, n in sorted(plan.counts().items())},
        "changes": [
            {
                "address": _address(c.address),
                "id": str(c.address),
                "action": c.action.value,
                "phase": c.phase.name.lower(),
                "before": c.before,
                "after": c.after,
                "reason": c.reason,
                # Derived, for readers: the fields that differ, plain values (ignored on load).
                "fields": [
                    {"path": f.path, "change": _CHANGE_WORD[f.mark], "before": f.before, "after": f.after}
                    for f in field_changes(c)
                ],
                **({"labels": dict(c.labels)} if c.labels else {}),
            }
            for c in plan.changes
        ],
        "violations": [
            {"container": v.container, "deletes": v.deletes, "existing": v.existing, "message": v.message}
            for v in plan.violations
        ],
        "errors": [{"address": _address(e.address), "message": e.message} for e in plan.errors],
        "guardDecisions": [_decision(d) for d in plan.guard_decisions],
    }


def _decision(d: GuardDecision) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "container": d.container,
        "existing": d.existing,
        "deletes": d.deletes,
        "remaining": d.remaining,
        "maxDeleteFraction": d.max_delete_fraction,
        "minDeletesAllowed": d.min_deletes_allowed,
        "allowedDeletes": d.allowed_deletes,
        "allowEmpty": d.allow_empty,
        "allowMassDelete": d.allow_mass_delete,
        "allowed": d.allowed,
        "message": d.message,
    }


def _decision_from(d: dict[str, Any]) -> GuardDecision:
    return GuardDecision(
        kind=ResourceKind(d["kind"]),
        container=d["container"],
        existing=d["existing"],
        deletes=d["deletes"],
        remaining=d["remaining"],
        max_delete_fraction=d["maxDeleteFraction"],
        min_deletes_allowed=d["minDeletesAllowed"],
        allowed_deletes=d["allowedDeletes"],
        allow_empty=d["allowEmpty"],
        allow_mass_delete=d["allowMassDelete"],
        allowed=d["allowed"],
        message=d["message"],
    )


def plan_from_dict(data: dict[str, Any]) -> Plan:
    if data.get("formatVersion") != FORMAT_VERSION:
        raise ValueError(f"unsupported plan format version {data.get('formatVersion')!r}")
    return Plan(
        changes=tuple(
            Change(
                _address_from(c["address"]),
                Action(c["action"]),
                Phase[c["phase"].upper()],
                c.get("before"),
                c.get("after"),
                c.get("reason", ""),
                tuple(sorted(c.get("labels", {}).items())),
            )
            for c in data["changes"]
        ),
        observed_versions=tuple(sorted(data.get("observedVersions", {}).items())),
        violations=tuple(
            GuardViolation(v["container"], v["deletes"], v["existing"], v["message"])
            for v in data.get("violations", [])
        ),
        errors=tuple(
            PlanError(_address_from(e["address"]), e["message"]) for e in data.get("errors", [])
        ),
        desired_digest=data.get("desiredDigest", ""),
        guard_decisions=tuple(_decision_from(d) for d in data.get("guardDecisions", [])),
    )
