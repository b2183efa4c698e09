"""Lambda@Edge lifecycle against the emulated Lambda and IAM over HTTP:
observe -> plan_functions -> adapter.apply (create/update $LATEST, publish a version)
-> adapter.cleanup (old versions, never associated ones)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.aws.errors import ErrorClass, classify
from reconciler.aws.lambda_edge import LambdaEdgeAdapter, LambdaEdgeRegionError, RoleTrustError
from reconciler.core.functions import (
    DesiredFunctions,
    DesiredLambdaFunction,
    ObservedFunctions,
    plan_functions,
)
from reconciler.core.model import Action, Change, Phase
from reconciler.functions.package_zip import build_package
from tests.lifecycle.conftest import TENANT_ROUTER, WireCounter, trust_policy

NAME = "tenant-router"
CONFIG = {"tableName": "tenant-routing-config-prod", "region": "us-east-1"}


@pytest.fixture
def role(aws: Any) -> str:
    iam = aws.client("iam")
    policy = trust_policy("lambda.amazonaws.com", "edgelambda.amazonaws.com")
    return str(
        iam.create_role(RoleName="tenant-router-edge", AssumeRolePolicyDocument=policy)["Role"][
            "Arn"
        ]
    )


@pytest.fixture
def adapter(aws: Any) -> LambdaEdgeAdapter:
    return LambdaEdgeAdapter(aws.target)


def package(config: dict[str, Any] = CONFIG) -> tuple[bytes, str]:
    built = build_package(TENANT_ROUTER, config)
    return built.zip_bytes, built.code_sha256


def desired(role: str, sha: str, **kw: Any) -> DesiredLambdaFunction:
    return DesiredLambdaFunction(NAME, sha, "nodejs20.x", "index.handler", role, **kw)


def plan(
    adapter: LambdaEdgeAdapter, fn: DesiredLambdaFunction, associated: frozenset[str] = frozenset()
) -> tuple[Any, tuple[Change, ...]]:
    seen = adapter.observe(fn.name)
    observed = ObservedFunctions(lambdas={fn.name: seen}, associated_version_arns=associated)
    return seen, plan_functions(DesiredFunctions(lambdas=(fn,)), observed)


def reconcile(adapter: LambdaEdgeAdapter, fn: DesiredLambdaFunction, zip_bytes: bytes) -> Any:
    seen, changes = plan(adapter, fn)
    return changes, adapter.apply(fn, seen, changes, zip_bytes)


def test_first_pass_creates_and_publishes_version_1_then_converges(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    zip_bytes, sha = package()
    fn = desired(role, sha)
    changes, result = reconcile(adapter, fn, zip_bytes)

    assert [c.action for c in changes] == [Action.CREATE, Action.PUBLISH]
    assert wire.writes() == {"lambda:CreateFunction": 1, "lambda:PublishVersion": 1}
    assert result.version_arn == f"arn:aws:lambda:us-east-1:123456789012:function:{NAME}:1"
    seen = adapter.observe(NAME)
    assert [(v.number, v.code_sha256) for v in seen.versions] == [(1, sha)]
    assert seen.last_update_status == "Successful"

    wire.mark()
    changes, result = reconcile(adapter, fn, zip_bytes)
    assert changes == () and result.writes == []
    assert result.version_arn.endswith(":1")  # the wiring still gets the version to use
    assert wire.writes() == {}


def test_byte_identical_rebuild_gives_the_same_sha_and_no_new_version(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    first_zip, first_sha = package()
    reconcile(adapter, desired(role, first_sha), first_zip)
    second_zip, second_sha = package(
        dict(reversed(list(CONFIG.items())))
    )  # same config, other order
    assert second_zip == first_zip and second_sha == first_sha

    wire.mark()
    changes, _ = reconcile(adapter, desired(role, second_sha), second_zip)
    assert changes == ()
    assert wire.writes() == {}
    assert [v.number for v in adapter.observe(NAME).versions] == [1]


def test_code_change_is_one_update_and_one_new_version(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    zip_bytes, sha = package()
    reconcile(adapter, desired(role, sha), zip_bytes)
    new_zip, new_sha = package({**CONFIG, "tableName": "tenant-routing-config-v2"})
    assert new_sha != sha

    wire.mark()
    changes, result = reconcile(adapter, desired(role, new_sha), new_zip)
    assert [c.action for c in changes] == [Action.UPDATE, Action.PUBLISH]
    assert wire.writes() == {"lambda:UpdateFunctionCode": 1, "lambda:PublishVersion": 1}
    assert result.version_arn.endswith(":2")
    assert [(v.number, v.code_sha256) for v in adapter.observe(NAME).versions] == [
        (1, sha),
        (2, new_sha),
    ]


def test_config_change_is_one_configuration_update_and_one_new_version(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    zip_bytes, sha = package()
    reconcile(adapter, desired(role, sha), zip_bytes)
    wire.mark()
    changes, _ = reconcile(adapter, desired(role, sha, memory=256, timeout=30), zip_bytes)
    assert changes[0].reason == "$LATEST configuration differs"
    assert wire.writes() == {"lambda:UpdateFunctionConfiguration": 1, "lambda:PublishVersion": 1}
    assert adapter.observe(NAME).versions[-1].config.memory == 256


def test_role_without_edgelambda_trust_is_a_clear_error_before_any_write(
    aws: Any, adapter: LambdaEdgeAdapter, wire: WireCounter
) -> None:
    iam = aws.client("iam")
    arn = iam.create_role(
        RoleName="lambda-only", AssumeRolePolicyDocument=trust_policy("lambda.amazonaws.com")
    )["Role"]["Arn"]
    zip_bytes, sha = package()
    wire.mark()
    with pytest.raises(RoleTrustError) as error:
        reconcile(adapter, desired(arn, sha), zip_bytes)
    assert "edgelambda.amazonaws.com" in str(error.value)
    assert "lambda.amazonaws.com)" in str(error.value)  # says what it does trust
    assert classify(error.value) is ErrorClass.FATAL
    assert wire.writes() == {}


def test_missing_role_is_a_clear_error(adapter: LambdaEdgeAdapter) -> None:
    with pytest.raises(RoleTrustError, match="does not exist"):
        adapter.check_role("arn:aws:iam::123456789012:role/nobody")


def test_region_other_than_us_east_1_is_refused(aws: Any) -> None:
    with pytest.raises(LambdaEdgeRegionError, match="us-east-1"):
        LambdaEdgeAdapter(aws.target, region="eu-west-1")
    with pytest.raises(LambdaEdgeRegionError):
        LambdaEdgeAdapter(replace(aws.target, region="eu-central-1"))


def test_package_other_than_planned_is_refused(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    zip_bytes, _ = package()
    with pytest.raises(Exception, match="not the one planned"):
        reconcile(adapter, desired(role, "c29tZXRoaW5nIGVsc2U="), zip_bytes)
    assert "lambda:CreateFunction" not in wire.writes()


def publish_versions(adapter: LambdaEdgeAdapter, role: str, count: int) -> DesiredLambdaFunction:
    fn = None
    for n in range(count):
        zip_bytes, sha = package({**CONFIG, "tableName": f"table-{n}"})
        fn = desired(role, sha, keep_versions=2)
        reconcile(adapter, fn, zip_bytes)
    assert fn is not None
    return fn


def test_cleanup_deletes_old_versions_but_never_associated_ones(
    adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    fn = publish_versions(adapter, role, 5)
    v1 = f"arn:aws:lambda:us-east-1:123456789012:function:{NAME}:1"
    _, changes = plan(adapter, fn, associated=frozenset({v1}))
    cleanup = [c for c in changes if c.phase is Phase.CLEANUP]
    assert [c.address.key for c in cleanup] == ["2", "3"]

    wire.mark()
    result = adapter.cleanup(NAME, changes)
    assert result.deleted_versions == [2, 3]
    assert wire.writes() == {"lambda:DeleteFunction": 2}
    assert [v.number for v in adapter.observe(NAME).versions] == [1, 4, 5]
    _, changes = plan(adapter, fn, associated=frozenset({v1}))
    assert changes == ()


def test_cleanup_tolerates_a_version_still_replicated(
    aws: Any, adapter: LambdaEdgeAdapter, role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fn = publish_versions(adapter, role, 4)
    _, changes = plan(adapter, fn)
    # Lambda's answer while CloudFront still holds replicas, made on the wire for version 1.
    aws.server.hooks.inject(
        "lambda",
        "DeleteFunction",
        kind="error",
        code="InvalidParameterValueException",
        message=(
            "Lambda was unable to delete "
            "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:1 because it is a "
            "replicated function. Please see our documentation for Deleting Lambda@Edge "
            "Functions and Replicas."
        ),
        where=r"Qualifier=1(&|$)",
    )
    result = adapter.cleanup(NAME, changes)
    assert result.still_replicated == [1]
    assert result.deleted_versions == [2]
    assert "still replicated" in capsys.readouterr().out
    # The next pass plans the delete again.
    _, changes = plan(adapter, fn)
    assert [c.address.key for c in changes if c.action is Action.DELETE] == ["1"]


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
    aws: Any, adapter: LambdaEdgeAdapter, role: str, wire: WireCounter
) -> None:
    zip_bytes, sha = package()
    reconcile(adapter, desired(role, sha), zip_bytes)
    new_zip, new_sha = package({**CONFIG, "tableName": "tenant-routing-config-v2"})
    fn = desired(role, new_sha)
    aws.server.hooks.inject("lambda", "PublishVersion", kind="internal-error", count=1)
    with pytest.raises(Exception) as failed:
        reconcile(adapter, fn, new_zip)
    assert classify(failed.value) is ErrorClass.RETRYABLE

    wire.mark()
    changes, result = reconcile(adapter, fn, new_zip)
    assert [c.action for c in changes] == [Action.PUBLISH]  # $LATEST is already right
    assert wire.writes() == {"lambda:PublishVersion": 1}
    assert result.version_arn.endswith(":2")
