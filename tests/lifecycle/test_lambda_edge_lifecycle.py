"""Lambda@Edge lifecycle through the real pass, against the emulated Lambda and IAM:
route files -> plan -> offline gate -> create / update $LATEST -> publish a version ->
clean up old versions (never associated ones)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.errors import ErrorClass
from reconciler.aws.lambda_edge import LambdaEdgeAdapter, LambdaEdgeRegionError, RoleTrustError
from reconciler.core.model import Action, Phase, ResourceKind
from reconciler.engine import Outcome, PassReport, Reconciler
from reconciler.functions.package_zip import build_package
from tests.lifecycle.conftest import TENANT_ROUTER, WireCounter, trust_policy
from tests.support.routes import write_lambda_function

NAME = "tenant-router"
CONFIG = {"tableName": "tenant-routing-config-prod", "region": "us-east-1"}
ROLE = "arn:aws:iam::123456789012:role/tenant-router-edge"
ECHO = """export const handler = async (event) => event.Records[0].cf.request; // v{n}\n"""


@pytest.fixture
def role(aws: Any) -> str:
    iam = aws.client("iam")
    policy = trust_policy("lambda.amazonaws.com", "edgelambda.amazonaws.com")
    return str(iam.create_role(RoleName="tenant-router-edge", AssumeRolePolicyDocument=policy)["Role"]["Arn"])


@pytest.fixture
def tenant_repo(tmp_path: Path, role: str) -> Path:
    """The tenant router (code + its 12 test events) declared in a route file."""
    shutil.copytree(
        TENANT_ROUTER, tmp_path / "edge_functions" / "tenant_router",
        ignore=shutil.ignore_patterns("node_modules"),
    )  # fmt: skip
    write_lambda_function(tmp_path / "routes", NAME, "edge_functions/tenant_router/", config=CONFIG)
    return tmp_path


def echo_function(root: Path, version: int = 1, **route: Any) -> None:
    """A small function with one test event; each `version` is other code."""
    folder = root / "edge_functions" / "echo"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "index.mjs").write_text(ECHO.format(n=version))
    event = {"Records": [{"cf": {"request": {"uri": "/", "method": "GET", "headers": {}}}}]}
    case = {"name": "echo", "event": event, "expect": {"request": "unchanged"}}
    (folder / "tests" / "01-echo.json").write_text(json.dumps(case))
    write_lambda_function(root / "routes", NAME, "edge_functions/echo/", **route)


def engine(aws: Any, root: Path) -> Reconciler:
    return Reconciler(root / "routes", root, aws.target)


def applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def actions(report: PassReport, phase: Phase = Phase.FUNCTIONS) -> list[Action]:
    assert report.plan is not None
    return [
        c.action
        for c in report.plan.changes
        if c.address.kind is ResourceKind.LAMBDA_FUNCTION and c.phase is phase
    ]


def test_first_pass_creates_and_publishes_version_1_then_converges(
    aws: Any, tenant_repo: Path, wire: WireCounter
) -> None:
    reconciler = engine(aws, tenant_repo)
    report = applied(reconciler.run_pass())
    assert actions(report) == [Action.CREATE, Action.PUBLISH]
    assert wire.writes() == {"lambda:CreateFunction": 1, "lambda:PublishVersion": 1}
    sha = build_package(tenant_repo / "edge_functions" / "tenant_router", CONFIG).code_sha256
    seen = LambdaEdgeAdapter(aws.target).observe(NAME)
    assert [(v.number, v.code_sha256) for v in seen.versions] == [(1, sha)]
    assert seen.last_update_status == "Successful"

    wire.mark()
    assert reconciler.run_pass().outcome is Outcome.NO_CHANGES
    assert wire.writes() == {}


def test_byte_identical_rebuild_gives_the_same_sha_and_no_new_version(
    aws: Any, tenant_repo: Path, wire: WireCounter
) -> None:
    reconciler = engine(aws, tenant_repo)
    applied(reconciler.run_pass())
    folder = tenant_repo / "edge_functions" / "tenant_router"
    first = build_package(folder, CONFIG)
    # The same config written in another order, every file touched: the same zip.
    write_lambda_function(
        tenant_repo / "routes", NAME, "edge_functions/tenant_router/",
        config=dict(reversed(list(CONFIG.items()))),
    )  # fmt: skip
    for path in folder.rglob("*"):
        path.touch()
    assert build_package(folder, dict(reversed(list(CONFIG.items())))).zip_bytes == first.zip_bytes
    wire.mark()
    assert reconciler.run_pass().outcome is Outcome.NO_CHANGES
    assert wire.writes() == {}


def test_code_change_is_one_update_and_one_new_version(
    aws: Any, tmp_path: Path, role: str, wire: WireCounter
) -> None:
    echo_function(tmp_path, 1)
    reconciler = engine(aws, tmp_path)
    applied(reconciler.run_pass())
    echo_function(tmp_path, 2)
    wire.mark()
    report = applied(reconciler.run_pass())
    assert actions(report) == [Action.UPDATE, Action.PUBLISH]
    assert wire.writes() == {"lambda:UpdateFunctionCode": 1, "lambda:PublishVersion": 1}
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [1, 2]


def test_config_change_is_one_configuration_update_and_one_new_version(
    aws: Any, tmp_path: Path, role: str, wire: WireCounter
) -> None:
    echo_function(tmp_path, 1)
    reconciler = engine(aws, tmp_path)
    applied(reconciler.run_pass())
    echo_function(tmp_path, 1, memory=256, timeout=30)
    wire.mark()
    report = applied(reconciler.run_pass())
    assert report.plan is not None and report.plan.changes[0].reason == "$LATEST configuration differs"
    assert wire.writes() == {"lambda:UpdateFunctionConfiguration": 1, "lambda:PublishVersion": 1}
    assert LambdaEdgeAdapter(aws.target).observe(NAME).versions[-1].config.memory == 256


def test_failing_test_event_publishes_nothing_and_names_the_event(
    aws: Any, tenant_repo: Path, wire: WireCounter
) -> None:
    """Issue 14.1: a wrong Host header in index.mjs fails the function's own test event;
    no UpdateFunctionCode, no PublishVersion, and the report says expected vs actual."""
    reconciler = engine(aws, tenant_repo)
    applied(reconciler.run_pass())
    handler = tenant_repo / "edge_functions" / "tenant_router" / "index.mjs"
    text = handler.read_text()
    assert "value: found.backend" in text
    handler.write_text(text.replace("value: found.backend", "value: 'wrong.example.com'", 1))
    wire.mark()
    report = reconciler.run_pass()
    assert report.outcome is Outcome.FAILED and report.reason == "FunctionTestFailed"
    assert report.error_class is ErrorClass.FATAL
    problems = report.rejected[0].problems
    assert any(
        "hostHeader expected" in p and "got 'wrong.example.com'" in p and ".json" in p
        for p in problems
    ), problems
    assert wire.writes() == {}
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [1]


def test_role_without_edgelambda_trust_is_a_clear_error_before_any_write(
    aws: Any, tmp_path: Path, wire: WireCounter
) -> None:
    iam = aws.client("iam")
    arn = iam.create_role(
        RoleName="lambda-only", AssumeRolePolicyDocument=trust_policy("lambda.amazonaws.com")
    )["Role"]["Arn"]
    echo_function(tmp_path, 1, role=arn)
    wire.mark()
    report = engine(aws, tmp_path).run_pass()
    assert report.outcome is Outcome.FAILED and report.error_class is ErrorClass.FATAL
    assert report.reason == "RoleTrust"
    assert "edgelambda.amazonaws.com" in report.errors[0]
    assert "lambda.amazonaws.com)" in report.errors[0]  # says what it does trust
    assert wire.writes() == {}


def test_missing_role_is_a_clear_error(aws: Any) -> None:
    with pytest.raises(RoleTrustError, match="does not exist"):
        LambdaEdgeAdapter(aws.target).check_role("arn:aws:iam::123456789012:role/nobody")


def test_region_other_than_us_east_1_is_refused(aws: Any) -> None:
    with pytest.raises(LambdaEdgeRegionError, match="us-east-1"):
        LambdaEdgeAdapter(aws.target, region="eu-west-1")
    with pytest.raises(LambdaEdgeRegionError):
        LambdaEdgeAdapter(replace(aws.target, region="eu-central-1"))


def test_cleanup_deletes_old_versions_but_never_associated_ones(
    aws: Any, tmp_path: Path, role: str, wire: WireCounter
) -> None:
    reconciler = engine(aws, tmp_path)
    for n in range(1, 6):
        echo_function(tmp_path, n, keep_versions=2)
        applied(reconciler.run_pass())
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [4, 5]
    # Versions 1-3 went as newer ones came: each pass keeps the newest two.


def test_cleanup_keeps_a_version_a_distribution_references(
    aws: Any, seeded: Any, tmp_path: Path, wire: WireCounter
) -> None:
    """v1 stays wired (by hand, on the seeded distribution): clean-up never deletes it."""
    echo_function(tmp_path, 1, keep_versions=1)
    reconciler = Reconciler(tmp_path / "routes", tmp_path, seeded)
    applied(reconciler.run_pass())
    cf = aws.client("cloudfront")
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    current = cf.get_distribution_config(Id=summary["Id"])
    config = current["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    v1 = f"arn:aws:lambda:us-east-1:123456789012:function:{NAME}:1"
    tenant["LambdaFunctionAssociations"] = {
        "Quantity": 1,
        "Items": [{"LambdaFunctionARN": v1, "EventType": "origin-request", "IncludeBody": True}],
    }
    cf.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    for n in (2, 3):
        echo_function(tmp_path, n, keep_versions=1)
        applied(reconciler.run_pass())
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [1, 3]


def test_cleanup_tolerates_a_version_still_replicated(
    aws: Any, tmp_path: Path, role: str, wire: WireCounter
) -> None:
    reconciler = engine(aws, tmp_path)
    echo_function(tmp_path, 1, keep_versions=1)
    applied(reconciler.run_pass())
    # Lambda's answer while CloudFront still holds replicas of version 1.
    message = (
        "Lambda was unable to delete arn:aws:lambda:us-east-1:123456789012:function:"
        "tenant-router:1 because it is a replicated function. Please see our documentation "
        "for Deleting Lambda@Edge Functions and Replicas."
    )
    aws.server.hooks.inject(
        "lambda", "DeleteFunction", kind="error", code="InvalidParameterValueException",
        message=message, where=r"Qualifier=1(&|$)", count=1,
    )  # fmt: skip
    echo_function(tmp_path, 2, keep_versions=1)
    report = applied(reconciler.run_pass())
    assert any("still replicated" in note for note in report.notes), report.notes
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [1, 2]
    # The next pass deletes it.
    report = applied(reconciler.run_pass())
    assert actions(report, Phase.CLEANUP) == [Action.DELETE]
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [2]


@pytest.mark.parametrize(
    ("document", "trusted"),
    [
        # IAM returns the document URL-encoded when a client does not decode it.
        (
            "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B"
            "%22Service%22%3A%22edgelambda.amazonaws.com%22%7D%2C%22Action%22%3A"
            "%22sts%3AAssumeRole%22%7D%5D%7D",
            {"edgelambda.amazonaws.com"},
        ),
        (
            {"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": ["sts:AssumeRole"]}},
            {"lambda.amazonaws.com"},
        ),
        (
            {"Statement": [{"Effect": "Deny", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"},
                           {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                            "Action": "sts:AssumeRole"}]},
            set(),
        ),
    ],
)  # fmt: skip
def test_trust_policy_reading(document: Any, trusted: set[str]) -> None:
    from reconciler.aws.lambda_edge import _trusted_services

    assert _trusted_services(document) == trusted


def test_pass_interrupted_before_publish_resumes_with_only_the_publish(
    aws: Any, tmp_path: Path, role: str, wire: WireCounter
) -> None:
    echo_function(tmp_path, 1)
    reconciler = engine(aws, tmp_path)
    applied(reconciler.run_pass())
    echo_function(tmp_path, 2)
    aws.server.hooks.inject("lambda", "PublishVersion", kind="internal-error", count=1)
    failed = reconciler.run_pass()
    assert failed.outcome is Outcome.FAILED and failed.error_class is ErrorClass.RETRYABLE
    wire.mark()
    report = applied(reconciler.run_pass())
    assert actions(report) == [Action.PUBLISH]  # $LATEST is already right
    assert wire.writes() == {"lambda:PublishVersion": 1}
    assert [v.number for v in LambdaEdgeAdapter(aws.target).observe(NAME).versions] == [1, 2]
