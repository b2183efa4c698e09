"""docs/operations.md keeps up with the code: the settings table is the generated one,
and every metric and condition reason the daemon can report is explained."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reconciler.daemon.metrics import DaemonMetrics
from tests.ops import settings_table

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs/operations.md").read_text()


def test_settings_table_is_current() -> None:
    # On failure: describe new settings in tests/ops/settings_table.py, then paste the
    # output of `python -m tests.ops.settings_table` into docs/operations.md.
    start = DOC.index(settings_table.START)
    end = DOC.index(settings_table.END) + len(settings_table.END)
    assert DOC[start:end] == settings_table.block()


def test_every_metric_is_explained() -> None:
    """Every family the daemon's registry serves (custom collectors included); the
    standard process and platform collectors are explained as a group."""
    checked = 0
    for family in DaemonMetrics().registry.collect():
        name = family.name
        if name.startswith(("process_", "python_")):
            assert "`process_*`" in DOC and "`python_info`" in DOC
            continue
        checked += 1
        short = name.removeprefix("reconciler_") + ("_total" if family.type == "counter" else "")
        assert re.search(rf"`{re.escape(short)}[`{{]", DOC), (
            f"docs/operations.md does not explain {name}"
        )
    assert checked >= 20


def _reasons() -> set[str]:
    """Every constant condition reason in the daemon (set_condition and LeaderState)."""
    found: set[str] = set()
    for path in (REPO / "reconciler/daemon").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            index = {"set_condition": 2, "set_": 2, "Condition": 2, "LeaderState": 1}.get(
                str(called)
            )
            if index is None or len(node.args) <= index:
                continue
            arg = node.args[index]
            values = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            found |= {
                v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return found


def test_every_condition_reason_is_explained() -> None:
    reasons = _reasons()
    assert {"Applied", "InvalidRouteFiles", "Healthy", "LeaseAcquired"} <= reasons
    missing = sorted(r for r in reasons if f"`{r}`" not in DOC)
    assert not missing, f"docs/operations.md does not explain the condition reasons {missing}"


def test_files_it_points_to_exist() -> None:
    for path in set(re.findall(r"`((?:deploy|scripts|docs)/[\w./-]+)`", DOC)):
        assert (REPO / path).exists(), path
