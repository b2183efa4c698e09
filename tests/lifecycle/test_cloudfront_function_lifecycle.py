"""CloudFront Function lifecycle against the emulated CloudFront over HTTP:
observe -> plan_functions -> adapter.apply (write DEVELOPMENT, test, publish)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.cloudfront_functions import (
    CloudFrontFunctionsAdapter,
    FunctionTestFailed,
    FunctionTests,
)
from reconciler.aws.errors import ConflictError, ErrorClass, classify
from reconciler.core.functions import (
    CloudFrontFunctionStage,
    DesiredCloudFrontFunction,
    DesiredFunctions,
    ObservedFunctions,
    plan_functions,
)
from reconciler.core.model import Action
from tests.lifecycle.conftest import WireCounter

NAME = "tier-router"
EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}
# The sandbox's compute figure is wall time against a 1 ms budget (not AWS's formula) and
# reads 100 for cold paths of the tier router; these tests check the wiring of TestFunction,
# the utilization gate has its own deterministic test below.
LENIENT = 100


@pytest.fixture
def adapter(aws: Any) -> CloudFrontFunctionsAdapter:
    return CloudFrontFunctionsAdapter(aws.target)


@pytest.fixture
def kvs_arn(aws: Any) -> str:
    cf = aws.client("cloudfront")
    return str(cf.create_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"])


def desired(folder: Path, kvs_arn: str, **kw: Any) -> DesiredCloudFrontFunction:
    fields = {"comment": "tier router", "kvs_arn": kvs_arn, **kw}
    return DesiredCloudFrontFunction(NAME, (folder / "index.js").read_bytes(), **fields)


def stage(observed: CloudFrontFunctionStage | None) -> CloudFrontFunctionStage:
    assert observed is not None, "stage absent"
    return observed


def reconcile(
    adapter: CloudFrontFunctionsAdapter, fn: DesiredCloudFrontFunction, tests: FunctionTests
) -> Any:
    """One pass for one function, as the reconcile pass runs it."""
    seen = adapter.observe(fn.name)
    changes = plan_functions(DesiredFunctions(cloudfront=(fn,)), ObservedFunctions({fn.name: seen}))
    return changes, adapter.apply(fn, seen, changes, tests)


def edit_code(folder: Path, old: str, new: str) -> None:
    source = folder / "index.js"
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))


def test_first_pass_creates_tests_publishes_then_converges(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path, wire: WireCounter,
) -> None:  # fmt: skip
    fn = desired(tier_folder, kvs_arn)
    changes, result = reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))

    assert [c.action for c in changes] == [Action.CREATE, Action.PUBLISH]
    assert wire.writes() == {"cloudfront:CreateFunction": 1, "cloudfront:PublishFunction": 1}
    assert result.tests.offline.startswith("passed (15 cases)")
    assert result.tests.testfunction == "passed (3 events)"  # the sandbox runs the real code
    seen = adapter.observe(NAME)
    assert seen.live is not None and seen.live.code_sha256 == fn.code_sha256
    assert seen.live.config == fn.config

    wire.mark()
    changes, result = reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert changes == () and result.writes == []
    assert wire.writes() == {}


def test_live_is_absent_before_the_first_publish(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path
) -> None:
    fn = desired(tier_folder, kvs_arn)
    adapter.create(fn)
    seen = adapter.observe(NAME)
    assert seen.development is not None and seen.development.code_sha256 == fn.code_sha256
    assert seen.live is None
    changes = plan_functions(DesiredFunctions(cloudfront=(fn,)), ObservedFunctions({NAME: seen}))
    assert [(c.action, c.reason) for c in changes] == [
        (Action.PUBLISH, "never published (no LIVE stage)")
    ]


def test_code_change_is_one_update_and_one_publish(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path, wire: WireCounter,
) -> None:  # fmt: skip
    tests = FunctionTests(tier_folder, max_compute_utilization=LENIENT)
    reconcile(adapter, desired(tier_folder, kvs_arn), tests)
    edit_code(tier_folder, "// tier-router:", "// tier-router (v2):")
    fn = desired(tier_folder, kvs_arn)

    wire.mark()
    changes, result = reconcile(adapter, fn, tests)
    assert [c.action for c in changes] == [Action.UPDATE, Action.PUBLISH]
    assert changes[0].reason == "DEVELOPMENT code differs"
    assert wire.writes() == {"cloudfront:UpdateFunction": 1, "cloudfront:PublishFunction": 1}
    # TestFunction really ran the DEVELOPMENT code (the sandbox runs it in Node).
    assert result.tests.testfunction == "passed (3 events)"
    assert wire.calls()["cloudfront:TestFunction"] == 3
    assert stage(adapter.observe(NAME).live).code_sha256 == fn.code_sha256


def test_config_change_updates_and_publishes(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path, wire: WireCounter,
) -> None:  # fmt: skip
    reconcile(adapter, desired(tier_folder, kvs_arn), FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    wire.mark()
    changes, _ = reconcile(
        adapter, desired(tier_folder, kvs_arn, comment="v2"), FunctionTests(tier_folder, max_compute_utilization=LENIENT)
    )
    assert changes[0].reason == "DEVELOPMENT comment differs"
    assert wire.writes() == {"cloudfront:UpdateFunction": 1, "cloudfront:PublishFunction": 1}


def test_failing_offline_test_publishes_nothing(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path, wire: WireCounter,
) -> None:  # fmt: skip
    reconcile(adapter, desired(tier_folder, kvs_arn), FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    live_before = adapter.observe(NAME).live
    # A regression: the default tier now looks itself up, so "basic" no longer stays on
    # the default origin (the function's own test 05 expects it to).
    edit_code(tier_folder, "const DEFAULT_TIER = 'basic';", "const DEFAULT_TIER = 'none';")
    fn = desired(tier_folder, kvs_arn)

    wire.mark()
    with pytest.raises(FunctionTestFailed) as failed:
        reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert classify(failed.value) is ErrorClass.FATAL
    assert any("basic-tier" in p for p in failed.value.problems), failed.value.problems
    assert wire.writes() == {"cloudfront:UpdateFunction": 1}  # DEVELOPMENT only
    seen = adapter.observe(NAME)
    assert seen.live == live_before
    # The next pass does not update again; it retries only the (still gated) publish.
    changes = plan_functions(DesiredFunctions(cloudfront=(fn,)), ObservedFunctions({NAME: seen}))
    assert [c.action for c in changes] == [Action.PUBLISH]


def small_function(folder: Path, code: str, expect: dict[str, Any]) -> Path:
    """A function folder in the harness format with one test case."""
    (folder / "tests").mkdir(parents=True)
    (folder / "index.js").write_text(code)
    case = {"name": "only-case", "event": EVENT, "expect": expect}
    (folder / "tests" / "01-only-case.json").write_text(json.dumps(case))
    return folder


def test_function_error_in_testfunction_publishes_nothing(
    adapter: CloudFrontFunctionsAdapter, tmp_path: Path, wire: WireCounter,
) -> None:  # fmt: skip
    # Its own test expects the throw, so the offline suite passes; TestFunction on AWS
    # reports FunctionErrorMessage, and code that throws at the edge is never published.
    folder = small_function(
        tmp_path / "thrower",
        "function handler(event) { throw new Error('boom'); }\n",
        {"error": "boom"},
    )
    fn = DesiredCloudFrontFunction("thrower", (folder / "index.js").read_bytes())
    with pytest.raises(FunctionTestFailed) as failed:
        reconcile(adapter, fn, FunctionTests(folder, max_compute_utilization=LENIENT))
    assert failed.value.problems == (
        "TestFunction only-case: function error: Error: boom (index.js:1:33)",
    )
    assert wire.writes() == {"cloudfront:CreateFunction": 1}
    assert wire.calls()["cloudfront:TestFunction"] == 1
    assert adapter.observe("thrower").live is None


def test_compute_utilization_above_threshold_publishes_nothing(
    adapter: CloudFrontFunctionsAdapter, tmp_path: Path, wire: WireCounter,
) -> None:  # fmt: skip
    folder = small_function(
        tmp_path / "spinner",
        "function handler(event) {\n  var x = 0;\n  for (var i = 0; i < 3000000; i++) { x += i % 7; }\n"
        "  event.request.headers['x-spin'] = {value: String(x)};\n  return event.request;\n}\n",
        {"request": {"uri": "/"}},
    )
    fn = DesiredCloudFrontFunction("spinner", (folder / "index.js").read_bytes())
    with pytest.raises(FunctionTestFailed, match="compute utilization 100 above 70"):
        reconcile(adapter, fn, FunctionTests(folder))
    assert wire.writes() == {"cloudfront:CreateFunction": 1}


def test_no_offline_tests_is_logged_as_skipped_never_passed(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, result = reconcile(
        adapter,
        desired(tier_folder, kvs_arn),
        FunctionTests(folder=None, max_compute_utilization=LENIENT),
    )
    assert result.tests.offline.startswith("skipped")
    assert "offline function tests skipped" in capsys.readouterr().out


def test_source_folder_must_hold_the_code_being_published(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path, wire: WireCounter
) -> None:
    fn = replace(desired(tier_folder, kvs_arn), code=b"function handler(e) { return e.request; }")
    with pytest.raises(Exception, match="not the code being published"):
        reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert "cloudfront:PublishFunction" not in wire.writes()


def test_stale_development_etag_is_a_conflict(
    aws: Any, adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path,
) -> None:  # fmt: skip
    reconcile(adapter, desired(tier_folder, kvs_arn), FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    seen = adapter.observe(NAME)
    # Someone else writes DEVELOPMENT after our read.
    cf = aws.client("cloudfront")
    cf.update_function(
        Name=NAME, IfMatch=stage(seen.development).etag, FunctionCode=b"function handler(e){return e.request}",
        FunctionConfig={"Comment": "by hand", "Runtime": "cloudfront-js-2.0"},
    )  # fmt: skip
    edit_code(tier_folder, "// tier-router:", "// tier-router (v3):")
    fn = desired(tier_folder, kvs_arn)
    changes = plan_functions(DesiredFunctions(cloudfront=(fn,)), ObservedFunctions({NAME: seen}))
    with pytest.raises(ConflictError) as conflict:
        adapter.apply(fn, seen, changes, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert classify(conflict.value) is ErrorClass.CONFLICT
    assert conflict.value.code == "PreconditionFailed"


def test_publish_needs_the_development_etag_not_the_live_one(
    adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path,
) -> None:  # fmt: skip
    reconcile(adapter, desired(tier_folder, kvs_arn), FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    seen = adapter.observe(NAME)
    new_etag = adapter.update(
        replace(desired(tier_folder, kvs_arn), comment="v2"), stage(seen.development).etag
    )
    assert new_etag and new_etag != stage(seen.development).etag  # not the empty "ETtag" header
    with pytest.raises(ConflictError):
        adapter.publish(NAME, stage(seen.live).etag)
    adapter.publish(NAME, new_etag)
    assert stage(adapter.observe(NAME).live).config.comment == "v2"


def test_pass_interrupted_before_publish_resumes_with_only_the_publish(
    aws: Any, adapter: CloudFrontFunctionsAdapter, kvs_arn: str, tier_folder: Path,
    wire: WireCounter,
) -> None:  # fmt: skip
    reconcile(adapter, desired(tier_folder, kvs_arn), FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    edit_code(tier_folder, "// tier-router:", "// tier-router (v4):")
    fn = desired(tier_folder, kvs_arn)
    aws.server.hooks.inject("cloudfront", "PublishFunction", kind="unavailable", count=1)
    with pytest.raises(Exception) as failed:
        reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert classify(failed.value) is ErrorClass.RETRYABLE

    wire.mark()
    changes, result = reconcile(adapter, fn, FunctionTests(tier_folder, max_compute_utilization=LENIENT))
    assert [c.action for c in changes] == [Action.PUBLISH]  # DEVELOPMENT is already right
    assert wire.writes() == {"cloudfront:PublishFunction": 1}
    assert result.tests.offline.startswith("passed")  # tested again before publishing
    assert stage(adapter.observe(NAME).live).code_sha256 == fn.code_sha256
