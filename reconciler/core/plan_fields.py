"""A change as a reviewer reads it: one line per field that differs, values by name.

Pure and deciding nothing: it only reshapes a Change's before/after for the renderers.
Nested mappings are flattened to dotted paths (`lambdaAssociations.origin-request.arn`),
absent and null are the same thing, equal fields are left out of updates. For display,
managed policy ids become their names and function ARNs the function's name (and
version); the JSON plan keeps every value as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reconciler.core.attribute_values import plain_item
from reconciler.core.managed_policies import MANAGED_POLICY_NAMES
from reconciler.core.model import Action, Change, ResourceKind

ADDED, REMOVED, CHANGED = "+", "-", "~"
SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.PUBLISH: "^"}
ACTION_LEGEND = {
    Action.CREATE: "create",
    Action.UPDATE: "update in place",
    Action.DELETE: "delete",
    Action.PUBLISH: "publish (CloudFront Function: DEVELOPMENT to LIVE; Lambda: a new version)",
}
FIELD_LEGEND = {ADDED: "added", REMOVED: "removed", CHANGED: "changed"}
# Field names as the route files spell them (the change carries the API's).
_FIELD_LABELS = {"cachePolicyId": "cachePolicy", "originRequestPolicyId": "originRequestPolicy"}
_LAMBDA_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([\w-]+):(\d+)$")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:cloudfront::\d{12}:function/([\w-]+)$")
# Entries and items are one value each: shown on one line even when created or deleted.
_ONE_LINE_KINDS = (ResourceKind.KVS_ENTRY, ResourceKind.TABLE_ITEM)


@dataclass(frozen=True)
class FieldChange:
    path: str  # dotted; "" when the change's value is one scalar
    mark: str  # ADDED, REMOVED or CHANGED
    before: Any
    after: Any


def plain(change: Change, value: Any) -> Any:
    """Table items travel in DynamoDB wire form; reviewers read plain values."""
    if change.address.kind is ResourceKind.TABLE_ITEM and isinstance(value, Mapping):
        return plain_item(value)
    return value


def one_line(change: Change) -> bool:
    """Whether the change reads best as one line (a scalar, or a whole entry or item
    created or deleted) rather than one line per field."""
    before, after = plain(change, change.before), plain(change, change.after)
    if not isinstance(before, Mapping | None) or not isinstance(after, Mapping | None):
        return True
    return change.address.kind in _ONE_LINE_KINDS and (before is None or after is None)


def field_changes(change: Change) -> list[FieldChange]:
    """The fields that differ (update, publish), or every field (create, delete)."""
    before, after = plain(change, change.before), plain(change, change.after)
    if not isinstance(before, Mapping | None) or not isinstance(after, Mapping | None):
        mark = {None: ADDED}.get(before, REMOVED if after is None else CHANGED)
        return [FieldChange("", mark, before, after)]
    # A NULL attribute is a value in DynamoDB; elsewhere null means "not set".
    keep_null = change.address.kind is ResourceKind.TABLE_ITEM
    old, new = _flatten(before or {}, keep_null), _flatten(after or {}, keep_null)
    out = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path), new.get(path)
        if path in old and path in new:
            if was != now:
                out.append(FieldChange(path, CHANGED, was, now))
        elif path in new:
            out.append(FieldChange(path, ADDED, None, now))
        else:
            out.append(FieldChange(path, REMOVED, was, None))
    return out


def label(path: str) -> str:
    head, dot, rest = path.partition(".")
    return _FIELD_LABELS.get(head, head) + dot + rest


def display(value: Any, labels: Mapping[str, str] | None = None) -> str:
    """A value for a person: text quoted (so "1001" and 1001 differ), exact numbers,
    known ids and ARNs by name, mappings and lists as compact JSON."""
    names = labels or {}
    if isinstance(value, str):
        return json.dumps(_named(value, names), ensure_ascii=False)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)}: {display(v, names)}"
            for k, v in sorted(value.items())
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(display(v, names) for v in value) + "]"
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _named(text: str, labels: Mapping[str, str]) -> str:
    if text in labels:
        return labels[text]
    if text in MANAGED_POLICY_NAMES:
        return MANAGED_POLICY_NAMES[text]
    match = _LAMBDA_VERSION_ARN.match(text)
    if match:
        return f"{match.group(1)}:{match.group(2)}"
    match = _FUNCTION_ARN.match(text)
    if match:
        return match.group(1)
    return text


def _flatten(value: Mapping[str, Any], keep_null: bool, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping) and item:
            out.update(_flatten(item, keep_null, path))
        elif isinstance(item, Mapping):
            if keep_null:
                out[path] = {}  # an empty map attribute; elsewhere: nothing set
        elif item is not None or keep_null:
            out[path] = item
    return out
