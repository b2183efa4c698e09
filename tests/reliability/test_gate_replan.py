"""A conflict re-plan does not run the offline tests again (reconciler/engine/gate.py):
the pass keeps its desired state, so a candidate that passed still passes, and the
Lambda suite (a Node process and a seeded DynamoDB per event) is seconds a conflict
should not cost twice. A candidate the gate refused is never remembered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from reconciler.engine import Outcome, Reconciler
from tests.reliability.wirefaults import land_then_reset

pytestmark = pytest.mark.usefixtures("fast_retries")


def _events(logs: list[dict[str, Any]], event: str) -> list[str]:
    return sorted(str(e["function"]) for e in logs if e["event"] == event)


def test_a_conflict_replan_tests_each_function_once(aws: Any, reconciler: Reconciler) -> None:
    # CreateTable lands and its answer is lost: botocore's retry meets ResourceInUse, a
    # conflict, and the pass re-plans after the gate already passed both functions.
    hooks = aws.server.hooks
    hooks.inject("dynamodb", "CreateTable", kind="race", action=land_then_reset(aws.server.port), count=1)
    hooks.inject("dynamodb", "CreateTable", kind="reset", count=1)
    with capture_logs() as logs:
        report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert report.conflicts == 1
    assert _events(logs, "gate.passed") == ["tenant-router", "tier-router"]
    assert _events(logs, "gate.already_passed") == ["tenant-router", "tier-router"]


def test_the_next_pass_tests_again(aws: Any, reconciler: Reconciler, repo: Path) -> None:
    """The memory is the pass's: a new pass loads the files again and judges again."""
    first = reconciler.run_pass(dry_run=False)
    assert first.outcome is Outcome.APPLIED, first.errors
    index = repo / "edge_functions" / "tenant_router" / "index.mjs"
    index.write_text(index.read_text() + "\n// an edit: a new candidate\n")
    with capture_logs() as logs:
        report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert _events(logs, "gate.passed") == ["tenant-router"]
    assert _events(logs, "gate.already_passed") == []
