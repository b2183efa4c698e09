"""One log-event naming scheme, `noun.verb` (lower case, words joined by `_`), for every
event logged anywhere under reconciler/, and every event explained in docs/operations.md
(and nothing explained there that the code no longer logs).

Events are found in the source: calls of a structlog logger's level methods (a name bound
to `structlog.get_logger(...)` or to `<logger>.bind(...)`) whose first argument is the
event. It must be a literal (or a conditional between literals), so it can be checked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs/operations.md"
SCHEME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
LEVELS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log"}
SECTION_START = "<!-- log-events:start -->"
SECTION_END = "<!-- log-events:end -->"


def _is_get_logger(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get_logger"
    )


def _loggers(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    changed = True
    while changed:  # bind() of a bind() of a logger is a logger too
        changed = False
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign | ast.AnnAssign):
                continue
            value = node.value
            if value is None:
                continue
            is_logger = _is_get_logger(value) or (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in ("bind", "new")
                and isinstance(value.func.value, ast.Name)
                and value.func.value.id in names
            )
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if is_logger and isinstance(target, ast.Name) and target.id not in names:
                    names.add(target.id)
                    changed = True
    return names


def logged_events() -> dict[str, list[str]]:
    """event -> where it is logged (file:line)."""
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in sorted((REPO / "reconciler").rglob("*.py")):
        tree = ast.parse(path.read_text())
        loggers = _loggers(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
            ):
                continue
            receiver = node.func.value
            if not (
                (isinstance(receiver, ast.Name) and receiver.id in loggers)
                or _is_get_logger(receiver)
            ):
                continue
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if not node.args:
                problems.append(f"{where}: no event name")
                continue
            arg = node.args[0]
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str):
                    found.setdefault(option.value, []).append(where)
                else:
                    problems.append(f"{where}: event name is not a literal: {ast.unparse(option)}")
    assert not problems, problems
    return found


def documented_events() -> set[str]:
    text = DOC.read_text()
    section = text[text.index(SECTION_START) : text.index(SECTION_END)]
    names: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            names |= set(re.findall(r"`([a-z0-9_.]+)`", first_cell))
    return names


def test_the_scan_finds_the_events_of_every_layer() -> None:
    events = logged_events()
    for expected in ("pass.finished", "change.applied", "gate.rejected", "git.updated", "webhook.accepted"):
        assert expected in events
    assert len(events) > 50


def test_every_event_is_named_noun_dot_verb() -> None:
    wrong = {e: w for e, w in logged_events().items() if not SCHEME.match(e)}
    assert not wrong, f"events not named noun.verb: {wrong}"


def test_every_event_is_documented_and_every_documented_event_is_logged() -> None:
    logged, documented = set(logged_events()), documented_events()
    assert not sorted(logged - documented), (
        f"docs/operations.md does not list {sorted(logged - documented)}"
    )
    assert not sorted(documented - logged), (
        f"docs/operations.md lists events nothing logs: {sorted(documented - logged)}"
    )


def test_no_doc_names_an_event_in_an_old_spelling() -> None:
    old = re.compile(
        r"`(change_applied|conflict_replan|lambda_versions?_still_replicated|pass_failed|"
        r"function_applied|pass_crashed|daemon\.config|http\.action|pass\.new_input)`"
    )
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        assert not old.findall(doc.read_text()), doc
