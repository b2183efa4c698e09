"""What a change looks like in /status, the logs and the notifications: its address, its
action, and the values before and after.

Route values are shown: origins, tenants, backends, function code hashes and settings,
distribution wiring are what an operator reviews, and the route files hold them in Git in
plain text anyway. Credentials never reach a Change (the adapters read none into the
observed state), and nothing here reads anything else. Long values are cut so one change
cannot blow up a log line or a chat message.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from reconciler.core.attribute_values import plain_item
from reconciler.core.model import Action, Change, ResourceKind
from reconciler.engine.report import PassReport

# How many planned changes /status lists one by one; the counts always cover all.
PLAN_SAMPLE = 50
VALUE_CHARS = 1000  # a value longer than this (as JSON) is cut in /status and logs
LINE_VALUE_CHARS = 160  # per value in a one-line rendering


def shown(change: Change, value: Any) -> Any:
    """The value as people read it: DynamoDB items as plain JSON, long values cut."""
    if value is None:
        return None
    if change.address.kind is ResourceKind.TABLE_ITEM and isinstance(value, dict):
        value = plain_item(value)
    text = _json(value)
    if len(text) > VALUE_CHARS:
        return text[:VALUE_CHARS] + f"... ({len(text)} characters)"
    return value


def change_dict(change: Change) -> dict[str, Any]:
    return {
        "address": str(change.address),
        "action": change.action.value,
        "before": shown(change, change.before),
        "after": shown(change, change.after),
        "reason": change.reason,
    }


def change_line(change: Change) -> str:
    """`update kvs_entry.tier-origins['premium']: "a" -> "b" (value differs)`"""
    before, after = _cut(change, change.before), _cut(change, change.after)
    if change.action is Action.UPDATE:
        detail = f"{before} -> {after}"
    elif change.action is Action.DELETE:
        detail = before
    else:
        detail = after
    line = f"{change.action.value} {change.address}"
    if detail:
        line += f": {detail}"
    return line + (f" ({change.reason})" if change.reason else "")


def _cut(change: Change, value: Any) -> str:
    if value is None:
        return ""
    if change.address.kind is ResourceKind.TABLE_ITEM and isinstance(value, dict):
        value = plain_item(value)
    text = _json(value)
    return text if len(text) <= LINE_VALUE_CHARS else text[:LINE_VALUE_CHARS] + "..."


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def plan_summary(report: PassReport) -> dict[str, Any] | None:
    plan = report.plan
    if plan is None:
        return None
    by_kind = Counter(c.address.kind.value for c in plan.changes)
    sample = plan.changes[:PLAN_SAMPLE]
    return {
        "changes": len(plan.changes),
        "byAction": {a.value: n for a, n in sorted(plan.counts().items())},
        "byKind": dict(sorted(by_kind.items())),
        "items": [change_line(c) for c in sample],
        "detail": [change_dict(c) for c in sample],
        "violations": [v.message for v in plan.violations],
        "errors": [f"{e.address}: {e.message}" for e in plan.errors],
        "desiredDigest": plan.desired_digest or report.desired_digest,
    }


def drift_dict(drift: Any) -> dict[str, Any]:
    """A Drift: the value found, the value declared, and (when corrected) restored."""
    change = drift.change
    out = {
        "address": str(change.address),
        "action": change.action.value,
        "found": shown(change, change.before),
        "declared": shown(change, change.after),
        "corrected": drift.corrected,
    }
    if drift.corrected:
        out["restored"] = out["declared"]
    return out
