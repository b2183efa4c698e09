"""tier-router's own test events, run through the harness."""

from __future__ import annotations

import pytest

from reconciler.functions.test_events import FunctionKind, judge, load_cases, run_cloudfront_suite
from tests.functions.conftest import EDGE, viewer_event

FOLDER = EDGE / "tier_router"
CASES = load_cases(FOLDER)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_event(cf_runner, tier_code, case):
    execution = cf_runner.run(tier_code, case.event, case.kvs, kvs_fault=case.kvs_fault)
    assert judge(FunctionKind.CLOUDFRONT_FUNCTION, case, execution) == []


def test_suite_passes_and_defaults_feed_cases_without_kvs(cf_runner):
    suite = run_cloudfront_suite(cf_runner, FOLDER, kvs_defaults={"premium": "p.example.com"})
    assert suite.passed, [o.problems for o in suite.outcomes if not o.passed]
    assert len(suite.outcomes) == len(CASES) >= 12


def test_judge_reports_a_wrong_origin(cf_runner, tier_code):
    case = CASES[0]
    execution = cf_runner.run(tier_code, case.event, {"premium": "other.example.com"})
    problems = judge(FunctionKind.CLOUDFRONT_FUNCTION, case, execution)
    assert problems == [
        "origin.domainName expected 'premium-api.example.com', got 'other.example.com'"
    ]


def test_never_throws_on_a_hostile_querystring(cf_runner, tier_code):
    event = viewer_event({"CTIER": {"multiValue": [None, {"value": 5}]}, "ctier": None})
    execution = cf_runner.run(tier_code, event, {})
    assert execution.error is None
    assert execution.output == event["request"]
    assert execution.origin_changes == []
