"""Plan renderings: terminal text (terraform-like), JSON, and Markdown for a pull request.

Rendering never decides anything: every function here reads a Plan and returns a string.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.core.attribute_values import plain_item
from reconciler.core.model import Action, Change, Plan, ResourceKind
from reconciler.core.plan_json import plan_to_dict

_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.PUBLISH: "^"}


def _value(change: Change, value: Any) -> str:
    if value is None:
        return ""
    if change.address.kind is ResourceKind.TABLE_ITEM and isinstance(value, dict):
        value = plain_item(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)


def _line(change: Change) -> str:
    sym = _SYMBOL[change.action]
    before, after = _value(change, change.before), _value(change, change.after)
    if change.action is Action.UPDATE:
        detail = f"{before} -> {after}"
    elif change.action is Action.DELETE:
        detail = before
    else:
        detail = after
    return f"  {sym} {change.address}" + (f" = {detail}" if detail else "") + (
        f"  # {change.reason}" if change.reason else ""
    )


def summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [
        f"{counts.get(Action.CREATE, 0)} to create",
        f"{counts.get(Action.UPDATE, 0)} to update",
        f"{counts.get(Action.DELETE, 0)} to delete",
    ]
    if counts.get(Action.PUBLISH):
        parts.append(f"{counts[Action.PUBLISH]} to publish")
    return "Plan: " + ", ".join(parts) + "."


def render_text(plan: Plan) -> str:
    lines: list[str] = []
    for err in plan.errors:
        lines.append(f"error: {err.message}")
    for violation in plan.violations:
        lines.append(f"refused: {violation.message}")
    if plan.empty:
        lines.append("No changes. Live state matches the route files.")
        return "\n".join(lines) + "\n"
    lines += [_line(c) for c in plan.changes]
    lines.append("")
    lines.append(summary(plan))
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, default=str) + "\n"


def render_markdown(plan: Plan, max_rows: int = 200) -> str:
    lines = ["### Edge routing plan", ""]
    for err in plan.errors:
        lines.append(f"> **Error:** {err.message}")
    for violation in plan.violations:
        lines.append(f"> **Refused:** {violation.message}")
    if plan.errors or plan.violations:
        lines.append("")
    if plan.empty:
        lines.append("No changes. Live state matches the route files.")
        return "\n".join(lines) + "\n"
    lines.append(f"**{summary(plan)}**")
    lines.append("")
    lines.append("| | resource | before | after | reason |")
    lines.append("|---|---|---|---|---|")
    for change in plan.changes[:max_rows]:
        cells = [
            _SYMBOL[change.action],
            f"`{change.address}`",
            _md(_value(change, change.before)),
            _md(_value(change, change.after)),
            change.reason,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if len(plan.changes) > max_rows:
        lines.append("")
        lines.append(f"... and {len(plan.changes) - max_rows} more changes (see the JSON plan).")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    escaped = text.replace("|", "\\|")
    return f"`{escaped}`" if text else ""
