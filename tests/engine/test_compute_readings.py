"""The TestFunction gate's compute rule (reconciler/engine/gate.py): the lowest reading
decides, re-reading stops at the first one within the limit, and a function over the
limit every time is refused after five readings. The readings are scripted here because
the rule is what is under test; the wire version (a function really over the limit,
five TestFunction calls on the sandbox) is in tests/lifecycle/test_cloudfront_function_lifecycle.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine import gate
from reconciler.engine.gate import FunctionTestFailed, GateSettings


def _folder(root: Path, cases: int = 1) -> Path:
    tests = root / "fn" / "tests"
    tests.mkdir(parents=True)
    for n in range(cases):
        case = {"name": f"case-{n}", "event": {"request": {"uri": f"/{n}"}}, "expect": {}}
        (tests / f"{n:02d}-case.json").write_text(json.dumps(case))
    return root / "fn"


class Readings:
    """TestFunction answers whose ComputeUtilization follows a script; counts the calls."""

    def __init__(self, figures: list[int]) -> None:
        self._figures: Iterator[int] = iter(figures)
        self.calls = 0

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]:
        self.calls += 1
        return {"ComputeUtilization": str(next(self._figures)), "FunctionErrorMessage": ""}


def test_a_busy_machine_does_not_refuse_a_function_that_fits(tmp_path: Path) -> None:
    # What CI read for the example tier-router: the median (85) is over the limit, the
    # function's cost (40) is not.
    readings = Readings([100, 85, 100, 40, 40])
    figures = gate.testfunction_gate("fn", "abc", _folder(tmp_path), readings, GateSettings())
    assert figures == [40]
    assert readings.calls == 4  # stopped at the first reading within the limit


def test_one_reading_within_the_limit_is_one_call(tmp_path: Path) -> None:
    readings = Readings([12])
    assert gate.testfunction_gate("fn", "abc", _folder(tmp_path), readings, GateSettings()) == [12]
    assert readings.calls == 1


def test_over_the_limit_every_time_is_refused_with_the_readings(tmp_path: Path) -> None:
    readings = Readings([100, 90, 75, 88, 71])
    with pytest.raises(FunctionTestFailed) as failed:
        gate.testfunction_gate("fn", "abc", _folder(tmp_path), readings, GateSettings())
    assert readings.calls == 5
    assert failed.value.problems == (
        "TestFunction 'case-0': compute utilization 71 (lowest of [100, 90, 75, 88, 71]) "
        "above 70: throttling risk at the edge",
    )


def test_the_limit_is_inclusive_and_configurable(tmp_path: Path) -> None:
    folder = _folder(tmp_path, cases=2)
    assert gate.testfunction_gate("fn", "abc", folder, Readings([70, 70]), GateSettings()) == [70, 70]
    strict = GateSettings(max_compute_utilization=30)
    readings = Readings([35, 29, 31, 31, 31, 31, 31])
    with pytest.raises(FunctionTestFailed) as failed:
        gate.testfunction_gate("fn", "abc", folder, readings, strict)
    assert readings.calls == 2 + 5  # first case: two readings; second: five, all over
    assert [p.split(":")[0] for p in failed.value.problems] == ["TestFunction 'case-1'"]
