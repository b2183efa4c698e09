"""CloudFront Function lifecycle through the real pass, against the emulated CloudFront:
route files -> plan -> offline gate -> write DEVELOPMENT -> TestFunction -> publish."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.cloudfront_functions import CloudFrontFunctionsAdapter
from reconciler.aws.errors import ConflictError, ErrorClass
from reconciler.core.model import Action, ResourceKind
from reconciler.engine import EngineSettings, GateSettings, Outcome, PassReport, Reconciler
from tests.lifecycle.conftest import TIER_ROUTER, WireCounter
from tests.support.routes import write_cloudfront_function, write_policy, write_store

NAME = "tier-router"
EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}
ENTRIES = {
    "basic": "basic-api.example.com",
    "standard": "standard-api.example.com",
    "premium": "premium-api.example.com",
}
# These tests are about the lifecycle, not the compute gate, which has its own test below.
LENIENT = EngineSettings(gate=GateSettings(max_compute_utilization=100))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the tier router (code + test events) and its store."""
    root = tmp_path / "repo"
    shutil.copytree(TIER_ROUTER, root / "edge_functions" / "tier_router")
    routes = root / "routes"
    write_policy(routes)
    write_store(routes, "tier-origins", ENTRIES)
    write_cloudfront_function(
        routes, NAME, "edge_functions/tier_router/index.js", store="tier-origins", comment="tier router"
    )
    return root


def engine(aws: Any, root: Path, settings: EngineSettings = LENIENT) -> Reconciler:
    return Reconciler(root / "routes", root, aws.target, settings=settings)


def function_changes(report: PassReport) -> list[Action]:
    assert report.plan is not None
    return [
        c.action for c in report.plan.changes if c.address.kind is ResourceKind.CLOUDFRONT_FUNCTION
    ]


def edit_code(root: Path, old: str, new: str) -> None:
    source = root / "edge_functions" / "tier_router" / "index.js"
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))


def applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def test_first_pass_creates_tests_publishes_then_converges(
    aws: Any, repo: Path, wire: WireCounter
) -> None:
    reconciler = engine(aws, repo)
    report = applied(reconciler.run_pass())
    assert function_changes(report) == [Action.CREATE, Action.PUBLISH]
    writes = {k: v for k, v in wire.writes().items() if k.startswith("cloudfront:")}
    assert writes == {
        "cloudfront:CreateKeyValueStore": 1,
        "cloudfront:CreateFunction": 1,
        "cloudfront:PublishFunction": 1,
    }
    assert wire.calls()["cloudfront:TestFunction"] == 3  # the first 3 of its 15 events
    seen = CloudFrontFunctionsAdapter(aws.target).observe(NAME)
    assert seen.live is not None and seen.live.code_sha256 == seen.development.code_sha256  # type: ignore[union-attr]
    assert seen.live.config.kvs_arn is not None and seen.live.config.comment == "tier router"

    wire.mark()
    assert reconciler.run_pass().outcome is Outcome.NO_CHANGES
    assert wire.writes() == {}


def test_code_change_is_one_update_and_one_publish(
    aws: Any, repo: Path, wire: WireCounter
) -> None:
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    edit_code(repo, "// tier-router:", "// tier-router (v2):")
    wire.mark()
    report = applied(reconciler.run_pass())
    assert report.plan is not None
    (update,) = [c for c in report.plan.changes if c.action is Action.UPDATE]
    assert update.reason == "DEVELOPMENT code differs"
    assert wire.writes() == {"cloudfront:UpdateFunction": 1, "cloudfront:PublishFunction": 1}
    assert dict(report.calls) == {"UpdateFunction": 1, "PublishFunction": 1}
    assert wire.calls()["cloudfront:TestFunction"] == 3  # TestFunction ran the new DEVELOPMENT


def test_config_change_updates_and_publishes(aws: Any, repo: Path, wire: WireCounter) -> None:
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    write_cloudfront_function(
        repo / "routes", NAME, "edge_functions/tier_router/index.js", store="tier-origins", comment="v2"
    )
    wire.mark()
    report = applied(reconciler.run_pass())
    assert report.plan is not None and report.plan.changes[0].reason == "DEVELOPMENT comment differs"
    assert wire.writes() == {"cloudfront:UpdateFunction": 1, "cloudfront:PublishFunction": 1}


def test_failing_offline_test_writes_nothing_at_all(
    aws: Any, repo: Path, wire: WireCounter
) -> None:
    """The offline gate runs before the pass's first write: a regression leaves DEVELOPMENT,
    LIVE and everything else untouched, and the report names the failing event."""
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    adapter = CloudFrontFunctionsAdapter(aws.target)
    before = adapter.observe(NAME)
    # A regression: the default tier now looks itself up, so "basic" no longer stays on
    # the default origin (the function's own test 05 expects it to).
    edit_code(repo, "const DEFAULT_TIER = 'basic';", "const DEFAULT_TIER = 'none';")
    write_store(repo / "routes", "tier-origins", {**ENTRIES, "gold": "gold-api.example.com"})

    wire.mark()
    report = reconciler.run_pass()
    assert report.outcome is Outcome.FAILED and report.error_class is ErrorClass.FATAL
    assert report.reason == "FunctionTestFailed"
    (rejected,) = report.rejected
    assert rejected.function == NAME
    assert any("basic" in p and "expected" in p for p in rejected.problems), rejected.problems
    assert wire.writes() == {}  # not even the store's new key: nothing of the pass is applied
    assert adapter.observe(NAME) == before


def small_function(root: Path, name: str, code: str, expect: dict[str, Any]) -> None:
    """A function folder in the harness format with one test case, and its route file."""
    folder = root / "edge_functions" / name
    (folder / "tests").mkdir(parents=True)
    (folder / "index.js").write_text(code)
    case = {"name": "only-case", "event": EVENT, "expect": expect}
    (folder / "tests" / "01-only-case.json").write_text(json.dumps(case))
    write_cloudfront_function(root / "routes", name, f"edge_functions/{name}/index.js")


def test_function_error_in_testfunction_publishes_nothing(
    aws: Any, tmp_path: Path, wire: WireCounter
) -> None:
    # Its own test expects the throw, so the offline suite passes; TestFunction on AWS
    # reports FunctionErrorMessage, and code that throws at the edge is never published.
    small_function(
        tmp_path, "thrower", "function handler(event) { throw new Error('boom'); }\n", {"error": "boom"}
    )
    report = engine(aws, tmp_path).run_pass()
    assert report.outcome is Outcome.FAILED and report.reason == "FunctionTestFailed"
    assert report.rejected[0].problems == (
        "TestFunction 'only-case': function error: Error: boom (index.js:1:33)",
    )
    assert wire.writes() == {"cloudfront:CreateFunction": 1}
    assert wire.calls()["cloudfront:TestFunction"] == 1
    assert CloudFrontFunctionsAdapter(aws.target).observe("thrower").live is None


def test_compute_utilization_above_threshold_publishes_nothing(
    aws: Any, tmp_path: Path, wire: WireCounter
) -> None:
    """A function over the limit reads over it five times in a row and is refused on the
    lowest reading (docs/lifecycle.md)."""
    small_function(
        tmp_path,
        "spinner",
        "function handler(event) {\n  var x = 0;\n  for (var i = 0; i < 3000000; i++) { x += i % 7; }\n"
        "  event.request.headers['x-spin'] = {value: String(x)};\n  return event.request;\n}\n",
        {"request": {"uri": "/"}},
    )
    report = engine(aws, tmp_path, EngineSettings()).run_pass()
    assert report.outcome is Outcome.FAILED, report.errors
    assert "compute utilization 100 (lowest of [100, 100, 100, 100, 100]) above 70" in report.errors[0]
    assert wire.writes() == {"cloudfront:CreateFunction": 1}
    assert wire.calls()["cloudfront:TestFunction"] == 5


def test_a_function_without_test_events_is_not_published(
    aws: Any, tmp_path: Path, wire: WireCounter
) -> None:
    """No test events is not a passed test: nothing proves the code works."""
    folder = tmp_path / "edge_functions" / "untested"
    folder.mkdir(parents=True)
    (folder / "index.js").write_text("function handler(event) { return event.request; }\n")
    write_cloudfront_function(tmp_path / "routes", "untested", "edge_functions/untested/index.js")
    report = engine(aws, tmp_path).run_pass()
    assert report.outcome is Outcome.FAILED and report.reason == "FunctionTestFailed"
    assert "no test events" in report.errors[0]
    assert wire.writes() == {}


def test_someone_writes_development_between_plan_and_write_is_a_conflict_then_replan(
    aws: Any, repo: Path, wire: WireCounter
) -> None:
    """A stale DEVELOPMENT ETag is a conflict: the pass re-observes and re-plans (and the
    re-plan writes the declared code over the hand edit, once)."""
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    edit_code(repo, "// tier-router:", "// tier-router (v3):")
    cf = aws.client("cloudfront")
    adapter = reconciler.adapters.cloudfront_functions
    original_update = adapter.update
    raced: list[str] = []

    def racing_update(fn: Any, kvs_arn: Any, etag: str) -> str:
        if not raced:  # someone else writes DEVELOPMENT right before our first write
            cf.update_function(
                Name=NAME, IfMatch=etag, FunctionCode=b"function handler(e){return e.request}",
                FunctionConfig={"Comment": "by hand", "Runtime": "cloudfront-js-2.0"},
            )  # fmt: skip
            raced.append(etag)
        return original_update(fn, kvs_arn, etag)

    adapter.update = racing_update  # type: ignore[method-assign]
    wire.mark()
    report = applied(reconciler.run_pass())
    assert report.conflicts == 1
    assert wire.writes() == {"cloudfront:UpdateFunction": 3, "cloudfront:PublishFunction": 1}
    assert dict(report.calls) == {"UpdateFunction": 1, "PublishFunction": 1}  # what landed


def test_publish_needs_the_development_etag_not_the_live_one(aws: Any, repo: Path) -> None:
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    adapter = CloudFrontFunctionsAdapter(aws.target)
    seen = adapter.observe(NAME)
    assert seen.development is not None and seen.live is not None
    cf = aws.client("cloudfront")
    moved = cf.update_function(
        Name=NAME, IfMatch=seen.development.etag, FunctionCode=b"function handler(e){return e.request}",
        FunctionConfig={"Comment": "v2", "Runtime": "cloudfront-js-2.0"},
    )["ETag"]  # fmt: skip
    with pytest.raises(ConflictError):
        adapter.publish(NAME, seen.live.etag)
    adapter.publish(NAME, moved)
    assert adapter.observe(NAME).live.config.comment == "v2"  # type: ignore[union-attr]


def test_pass_interrupted_before_publish_resumes_with_only_the_publish(
    aws: Any, repo: Path, wire: WireCounter
) -> None:
    reconciler = engine(aws, repo)
    applied(reconciler.run_pass())
    edit_code(repo, "// tier-router:", "// tier-router (v4):")
    aws.server.hooks.inject("cloudfront", "PublishFunction", kind="unavailable", count=10)
    failed = reconciler.run_pass()
    assert failed.outcome is Outcome.FAILED and failed.error_class is ErrorClass.RETRYABLE
    assert [c.action for c in failed.applied] == [Action.UPDATE]  # what landed before it
    aws.server.hooks.clear_faults()

    wire.mark()
    report = applied(reconciler.run_pass())
    assert function_changes(report) == [Action.PUBLISH]  # DEVELOPMENT is already right
    assert wire.writes() == {"cloudfront:PublishFunction": 1}
    assert wire.calls()["cloudfront:TestFunction"] == 3  # tested again before publishing
