"""Plan renderings: terminal text (terraform-like), JSON, and Markdown for a pull request.

Rendering never decides anything: every function here reads a Plan and returns a string.
A reviewer sees one line per field that differs (`~ code: "aaa" -> "bbb"`), policies and
functions by name, a legend for every symbol used, and the prune guard's rule and numbers
whether it allowed a prune or refused it.
"""

from __future__ import annotations

import json
import re

from reconciler.core.model import Action, Change, Plan
from reconciler.core.plan_fields import (
    ACTION_LEGEND,
    ADDED,
    FIELD_LEGEND,
    REMOVED,
    SYMBOLS,
    display,
    field_changes,
    label,
    one_line,
    plain,
)
from reconciler.core.plan_json import plan_to_dict

NO_CHANGES = "No changes. Live state matches the route files."


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


def verdict(plan: Plan) -> str:
    """The last line: what apply would do with this plan."""
    blockers = _blockers(plan)
    if plan.empty and not blockers:
        return NO_CHANGES
    if plan.empty:
        return f"Nothing can be applied: {blockers}."
    if blockers:
        return f"{summary(plan)} Nothing is applied while the plan has {blockers}."
    return summary(plan)


def _blockers(plan: Plan) -> str:
    parts = []
    if plan.errors:
        parts.append(f"{len(plan.errors)} error(s)")
    if plan.violations:
        parts.append(f"{len(plan.violations)} refused prune(s)")
    return " and ".join(parts)


def legend(plan: Plan) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(symbol, meaning) for every symbol the rendering uses: of changes, of field lines."""
    used = {c.action for c in plan.changes}
    actions = [(SYMBOLS[a], ACTION_LEGEND[a]) for a in Action if a in used]
    marks = {f.mark for c in plan.changes if not one_line(c) for f in field_changes(c)}
    fields = [(m, FIELD_LEGEND[m]) for m in FIELD_LEGEND if m in marks]
    return actions, fields


def _legend_text(plan: Plan, code: bool) -> str:
    def part(pairs: list[tuple[str, str]]) -> str:
        return ", ".join(
            f"{md_code(s)} {md_text(m)}" if code else f"{s} {m}" for s, m in pairs
        )

    actions, fields = legend(plan)
    text = f"Symbols: {part(actions)}."
    return text + (f" Field lines: {part(fields)}." if fields else "")


# ------------------------------------------------------------------------------ text


def render_text(plan: Plan) -> str:
    lines = [f"error: {err.message}" for err in plan.errors]
    if plan.changes:
        lines.append(_legend_text(plan, code=False))
        lines.append("")
        for change in plan.changes:
            lines += _text_change(change)
        lines.append("")
    lines += _guard_lines(plan)
    lines.append(verdict(plan))
    return "\n".join(lines) + "\n"


def _text_change(change: Change) -> list[str]:
    names = dict(change.labels)
    reason = f"  # {change.reason}" if change.reason else ""
    head = f"  {SYMBOLS[change.action]} {change.address}"
    if one_line(change):
        before, after = plain(change, change.before), plain(change, change.after)
        if change.action is Action.UPDATE:
            detail = f"{display(before, names)} -> {display(after, names)}"
        elif change.action is Action.DELETE:
            detail = display(before, names)
        else:
            detail = "" if after is None else display(after, names)
        return [head + (f" = {detail}" if detail else "") + reason]
    lines = [head + reason]
    for field in field_changes(change):
        if field.mark == ADDED:
            value = display(field.after, names)
        elif field.mark == REMOVED:
            value = display(field.before, names)
        else:
            value = f"{display(field.before, names)} -> {display(field.after, names)}"
        lines.append(f"      {field.mark} {label(field.path)}: {value}")
    return lines


def _guard_lines(plan: Plan) -> list[str]:
    lines = [d.message for d in plan.guard_decisions]
    # A plan saved before guard decisions existed still shows its refusals.
    decided = {d.container for d in plan.guard_decisions}
    lines += [f"refused: {v.message}" for v in plan.violations if v.container not in decided]
    return [*lines, ""] if lines else []


# ------------------------------------------------------------------------------ JSON


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, default=str) + "\n"


# -------------------------------------------------------------------------- Markdown


def render_markdown(plan: Plan, max_rows: int = 200) -> str:
    lines = ["### Edge routing plan", ""]
    for err in plan.errors:
        lines.append(f"> **Error:** {md_text(err.message)}")
    if plan.errors:
        lines.append("")
    lines.append(f"**{md_text(verdict(plan))}**")
    lines.append("")
    if plan.changes:
        lines.append(_legend_text(plan, code=True))
        lines.append("")
        lines += _markdown_table(plan, max_rows)
    guard = _guard_lines(plan)
    if guard:
        lines.append("**Prune guard**")
        lines.append("")
        lines += [f"- {md_text(line)}" for line in guard if line]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_table(plan: Plan, max_rows: int) -> list[str]:
    lines = ["| | resource | field | before | after | reason |", "|---|---|---|---|---|---|"]
    rows = 0
    shown = 0
    for change in plan.changes:
        change_rows = _markdown_rows(change)
        if rows and rows + len(change_rows) > max_rows:
            break
        lines += change_rows
        rows += len(change_rows)
        shown += 1
    if shown < len(plan.changes):
        lines.append("")
        lines.append(
            f"... and {len(plan.changes) - shown} more changes (see `reconciler plan --format json`)."
        )
    lines.append("")
    return lines


def _markdown_rows(change: Change) -> list[str]:
    names = dict(change.labels)
    symbol, address, reason = md_code(SYMBOLS[change.action]), md_code(str(change.address)), md_text(change.reason)
    if one_line(change):
        before, after = plain(change, change.before), plain(change, change.after)
        cells = [_value_cell(before, names), _value_cell(after, names)]
        return [_row([symbol, address, "", *cells, reason])]
    rows = []
    for index, field in enumerate(field_changes(change)):
        lead = [symbol, address] if index == 0 else ["", ""]
        cells = [_value_cell(field.before, names), _value_cell(field.after, names)]
        rows.append(_row([*lead, md_code(label(field.path)), *cells, reason if index == 0 else ""]))
    return rows or [_row([symbol, address, "", "", "", reason])]


def _value_cell(value: object, names: dict[str, str]) -> str:
    return "" if value is None else md_code(display(value, names))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_text(text: str) -> str:
    """Plain text safe in a GitHub Markdown table cell or paragraph: no formatting, no
    HTML, no pipes that end a cell, no line breaks that end a row."""
    flat = " ".join(text.replace("&", "&amp;").splitlines())
    return _MD_SPECIAL.sub(r"\\\1", flat)


def md_code(text: str) -> str:
    """`text` as a code span safe in a table cell: GitHub reads `\\|` as a pipe inside
    a code span in a table; a backtick inside is fenced with a longer run."""
    flat = " ".join(text.splitlines()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
