"""Plan <-> JSON-compatible dict, so a plan can be saved with `plan --out` and applied later."""

from __future__ import annotations

from typing import Any

from reconciler.core.model import (
    Action,
    Address,
    Change,
    GuardViolation,
    Phase,
    Plan,
    PlanError,
    ResourceKind,
)

FORMAT_VERSION = 1


def _address(a: Address) -> dict[str, Any]:
    return {"kind": a.kind.value, "container": a.container, "key": a.key}


def _address_from(d: dict[str, Any]) -> Address:
    return Address(ResourceKind(d["kind"]), d["container"], d.get("key"))


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "formatVersion": FORMAT_VERSION,
        "desiredDigest": plan.desired_digest,
        "observedVersions": dict(plan.observed_versions),
        "meta": dict(plan.meta),
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
            }
            for c in plan.changes
        ],
        "violations": [
            {"container": v.container, "deletes": v.deletes, "existing": v.existing, "message": v.message}
            for v in plan.violations
        ],
        "errors": [{"address": _address(e.address), "message": e.message} for e in plan.errors],
    }


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
        meta=tuple(sorted(data.get("meta", {}).items())),
    )
