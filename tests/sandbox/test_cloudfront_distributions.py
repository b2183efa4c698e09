"""CloudFront distributions in the emulated AWS behave as AWS documents (AWS_FACTS.md).

Every test talks HTTP to moto's server through a stock boto3 client, so a moto upgrade
that breaks one of our extension points fails here, by name.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import moto
import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox.cloudfront import behaviours, distributions
from reconciler.sandbox.cloudfront import install as cloudfront_install
from tests.sandbox._cf_support import (
    ALL_VIEWER,
    ALL_VIEWER_EXCEPT_HOST,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    LAMBDA_V1,
    LAMBDA_V2,
    aws_error,
    behaviour,
    create_function,
    distribution_config,
    function_associations,
    lambda_associations,
    published_function_arn,
)

EXAMPLES = Path(__file__).parent / "aws_examples"


@pytest.fixture
def cf(aws: Any) -> Any:
    return aws.client("cloudfront")


@pytest.fixture
def deploy_reads(aws: Any) -> Callable[[int], None]:
    """Sets the read that first reports Deployed (the `aws` fixture's reset restores it)."""

    def set_reads(reads: int) -> None:
        aws.server.hooks.switches.update(distribution_deploy_reads=reads)

    return set_reads


def wired_config(function_arn: str) -> dict[str, Any]:
    """The seed's wiring: a viewer-request function on the default behaviour, an
    origin-request Lambda@Edge with body on /tenant/*, managed policies on both."""
    return distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_OPTIMIZED,
            FunctionAssociations=function_associations((function_arn, "viewer-request")),
        ),
        CacheBehaviors={
            "Quantity": 1,
            "Items": [
                behaviour(
                    PathPattern="/tenant/*",
                    CachePolicyId=CACHING_DISABLED,
                    OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST,
                    LambdaFunctionAssociations=lambda_associations(
                        (LAMBDA_V1, "origin-request", True)
                    ),
                    FunctionAssociations=function_associations((function_arn, "viewer-request")),
                )
            ],
        },
    )


def create_wired(cf: Any) -> tuple[str, str, str]:
    """Creates the wired distribution; returns (id, etag, function ARN)."""
    arn = published_function_arn(cf)
    created = cf.create_distribution(DistributionConfig=wired_config(arn))
    return created["Distribution"]["Id"], created["ETag"], arn


# ------------------------------------------------------------------ extension points


def test_moto_extension_points_still_exist() -> None:
    assert moto.__version__ == "5.2.5", (
        "moto is pinned exactly because reconciler/sandbox patches its internals; "
        "re-check every extension point before changing the pin"
    )
    assert cloudfront_install.check_extension_points() == []


def test_install_is_idempotent(aws: Any) -> None:
    cloudfront_install.install()
    cf = aws.client("cloudfront")
    dist_id, _, arn = create_wired(cf)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["FunctionAssociations"]["Items"][0]["FunctionARN"] == arn


# -------------------------------------------------------------------- associations


def _from_create(cf: Any, dist_id: str, created: dict[str, Any]) -> dict[str, Any]:
    return dict(created["Distribution"]["DistributionConfig"])


def _from_get(cf: Any, dist_id: str, _: dict[str, Any]) -> dict[str, Any]:
    return dict(cf.get_distribution(Id=dist_id)["Distribution"]["DistributionConfig"])


def _from_get_config(cf: Any, dist_id: str, _: dict[str, Any]) -> dict[str, Any]:
    return dict(cf.get_distribution_config(Id=dist_id)["DistributionConfig"])


def _from_list(cf: Any, dist_id: str, _: dict[str, Any]) -> dict[str, Any]:
    items = cf.list_distributions()["DistributionList"]["Items"]
    return dict(next(s for s in items if s["Id"] == dist_id))


@pytest.mark.parametrize(
    "read",
    [_from_create, _from_get, _from_get_config, _from_list],
    ids=["CreateDistribution", "GetDistribution", "GetDistributionConfig", "ListDistributions"],
)
def test_associations_and_policies_round_trip(cf: Any, read: Callable[..., Any]) -> None:
    arn = published_function_arn(cf)
    created = cf.create_distribution(DistributionConfig=wired_config(arn))
    seen = read(cf, created["Distribution"]["Id"], created)

    default, (tenant,) = seen["DefaultCacheBehavior"], seen["CacheBehaviors"]["Items"]
    assert default["FunctionAssociations"] == function_associations((arn, "viewer-request"))
    assert default["LambdaFunctionAssociations"] == {"Quantity": 0}
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert tenant["PathPattern"] == "/tenant/*"
    assert tenant["FunctionAssociations"] == function_associations((arn, "viewer-request"))
    assert tenant["LambdaFunctionAssociations"] == lambda_associations(
        (LAMBDA_V1, "origin-request", True)
    )
    assert (tenant["CachePolicyId"], tenant["OriginRequestPolicyId"]) == (
        CACHING_DISABLED,
        ALL_VIEWER_EXCEPT_HOST,
    )


def test_update_replaces_associations(cf: Any) -> None:
    dist_id, _, _ = create_wired(cf)
    got = cf.get_distribution_config(Id=dist_id)
    config = got["DistributionConfig"]
    tenant = config["CacheBehaviors"]["Items"][0]
    tenant["LambdaFunctionAssociations"] = lambda_associations((LAMBDA_V2, "origin-request", False))
    tenant["FunctionAssociations"] = {"Quantity": 0}
    tenant["OriginRequestPolicyId"] = ALL_VIEWER

    updated = cf.update_distribution(Id=dist_id, IfMatch=got["ETag"], DistributionConfig=config)

    for seen in (
        updated["Distribution"]["DistributionConfig"],
        cf.get_distribution_config(Id=dist_id)["DistributionConfig"],
    ):
        tenant_seen = seen["CacheBehaviors"]["Items"][0]
        assert tenant_seen["LambdaFunctionAssociations"] == lambda_associations(
            (LAMBDA_V2, "origin-request", False)
        )
        assert tenant_seen["FunctionAssociations"] == {"Quantity": 0}
        assert tenant_seen["OriginRequestPolicyId"] == ALL_VIEWER
        assert seen["DefaultCacheBehavior"]["FunctionAssociations"]["Quantity"] == 1


def test_behaviour_with_cache_policy_returns_no_legacy_cache_fields(cf: Any) -> None:
    # Read-modify-write must be safe: AWS rejects these fields next to a cache policy.
    dist_id, etag, _ = create_wired(cf)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    for seen in (config["DefaultCacheBehavior"], config["CacheBehaviors"]["Items"][0]):
        assert not set(behaviours.LEGACY_CACHE_FIELDS) & set(seen), seen
    cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)


@pytest.mark.parametrize(
    "legacy",
    [
        {"ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
        {"MinTTL": 0},
        {"DefaultTTL": 86400},
        {"MaxTTL": 31536000},
    ],
    ids=["ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"],
)
def test_legacy_cache_fields_with_cache_policy_are_rejected(
    cf: Any, legacy: dict[str, Any]
) -> None:
    config = distribution_config(
        DefaultCacheBehavior=behaviour(CachePolicyId=CACHING_DISABLED, **legacy)
    )
    with aws_error("InvalidArgument", 400):
        cf.create_distribution(DistributionConfig=config)


def test_legacy_cache_fields_without_cache_policy_still_round_trip(cf: Any) -> None:
    legacy = {
        "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "all"}},
        "MinTTL": 5,
    }
    config = distribution_config(DefaultCacheBehavior=behaviour(**legacy))
    created = cf.create_distribution(DistributionConfig=config)["Distribution"]
    seen = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    assert seen["DefaultCacheBehavior"]["ForwardedValues"]["QueryString"] is True
    assert seen["DefaultCacheBehavior"]["MinTTL"] == 5
    assert not seen["DefaultCacheBehavior"].get("CachePolicyId")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:tenant-router",
        "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:live",
        "arn:aws:lambda:eu-west-1:123456789012:function:tenant-router:1",
    ],
    ids=["unqualified", "$LATEST", "alias", "not-us-east-1"],
)
def test_lambda_association_needs_a_numbered_version_in_us_east_1(cf: Any, arn: str) -> None:
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED,
            LambdaFunctionAssociations=lambda_associations((arn, "origin-request", False)),
        )
    )
    with aws_error("InvalidLambdaFunctionAssociation", 400):
        cf.create_distribution(DistributionConfig=config)


def test_function_association_needs_the_live_stage(cf: Any) -> None:
    create_function(cf, "unpublished")
    arn = cf.describe_function(Name="unpublished")["FunctionSummary"]["FunctionMetadata"][
        "FunctionARN"
    ]
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED,
            FunctionAssociations=function_associations((arn, "viewer-request")),
        )
    )
    with aws_error("InvalidFunctionAssociation", 400):
        cf.create_distribution(DistributionConfig=config)


def test_function_association_is_viewer_side_only(cf: Any) -> None:
    arn = published_function_arn(cf)
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED,
            FunctionAssociations=function_associations((arn, "origin-request")),
        )
    )
    with aws_error("InvalidFunctionAssociation", 400):
        cf.create_distribution(DistributionConfig=config)


def test_quantity_must_match_items(cf: Any) -> None:
    arn = published_function_arn(cf)
    associations = function_associations((arn, "viewer-request"))
    associations["Quantity"] = 2
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED, FunctionAssociations=associations
        )
    )
    with aws_error("InconsistentQuantities", 400):
        cf.create_distribution(DistributionConfig=config)


# -------------------------------------------------------------- If-Match and ETags


def test_update_without_if_match_is_invalid_if_match_version(cf: Any) -> None:
    dist_id, _, _ = create_wired(cf)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    with aws_error("InvalidIfMatchVersion", 400):
        cf.update_distribution(Id=dist_id, DistributionConfig=config)


def test_update_with_stale_if_match_is_precondition_failed(cf: Any) -> None:
    dist_id, etag, _ = create_wired(cf)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)
    config["Comment"] = "second writer"
    with aws_error("PreconditionFailed", 412):
        cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)
    assert cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["Comment"] == "sandbox"


def test_every_update_rotates_the_etag_and_reads_return_it(cf: Any) -> None:
    dist_id, etag, _ = create_wired(cf)
    seen = [etag]
    for comment in ("one", "two"):
        got = cf.get_distribution_config(Id=dist_id)
        assert got["ETag"] == seen[-1]
        config = got["DistributionConfig"]
        config["Comment"] = comment
        updated = cf.update_distribution(Id=dist_id, IfMatch=got["ETag"], DistributionConfig=config)
        seen.append(updated["ETag"])
        assert cf.get_distribution(Id=dist_id)["ETag"] == updated["ETag"]
        assert cf.get_distribution_config(Id=dist_id)["ETag"] == updated["ETag"]
    assert len(set(seen)) == 3, seen


def test_delete_checks_if_match_and_needs_a_disabled_deployed_distribution(
    cf: Any, deploy_reads: Callable[[int], None]
) -> None:
    deploy_reads(1)
    dist_id, etag, _ = create_wired(cf)
    with aws_error("InvalidIfMatchVersion", 400):
        cf.delete_distribution(Id=dist_id)
    with aws_error("PreconditionFailed", 412):
        cf.delete_distribution(Id=dist_id, IfMatch="E0STALE0000000")
    with aws_error("DistributionNotDisabled", 409):
        cf.delete_distribution(Id=dist_id, IfMatch=etag)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    config["Enabled"] = False
    disabled = cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)
    with aws_error("DistributionNotDisabled", 409):
        cf.delete_distribution(Id=dist_id, IfMatch=disabled["ETag"])  # still InProgress
    assert cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed"
    cf.delete_distribution(Id=dist_id, IfMatch=disabled["ETag"])
    with aws_error("NoSuchDistribution", 404):
        cf.get_distribution(Id=dist_id)


# ---------------------------------------------------------------------- deployment


def test_status_is_in_progress_after_update_until_read_enough(
    cf: Any, deploy_reads: Callable[[int], None]
) -> None:
    deploy_reads(2)
    dist_id, etag, _ = create_wired(cf)
    statuses = [cf.get_distribution(Id=dist_id)["Distribution"]["Status"] for _ in range(3)]
    assert statuses == ["InProgress", "Deployed", "Deployed"]

    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    updated = cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=config)
    assert updated["Distribution"]["Status"] == "InProgress"
    statuses = [cf.get_distribution(Id=dist_id)["Distribution"]["Status"] for _ in range(2)]
    assert statuses == ["InProgress", "Deployed"]


def test_zero_reads_means_deployed_at_once(cf: Any, deploy_reads: Callable[[int], None]) -> None:
    deploy_reads(0)
    dist_id, _, _ = create_wired(cf)
    assert cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed"


def test_distribution_deployed_waiter_works(cf: Any, deploy_reads: Callable[[int], None]) -> None:
    deploy_reads(3)
    dist_id, _, _ = create_wired(cf)
    cf.get_waiter("distribution_deployed").wait(
        Id=dist_id, WaiterConfig={"Delay": 0, "MaxAttempts": 5}
    )
    assert cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed"


# ---------------------------------------------------------------- managed policies


@pytest.mark.parametrize(
    ("policy_id", "name"),
    [
        (CACHING_DISABLED, "Managed-CachingDisabled"),
        (CACHING_OPTIMIZED, "Managed-CachingOptimized"),
    ],
)
def test_managed_cache_policies_are_listed_and_gettable(cf: Any, policy_id: str, name: str) -> None:
    listed = cf.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]
    by_id = {s["CachePolicy"]["Id"]: s for s in listed}
    assert by_id[policy_id]["Type"] == "managed"
    assert by_id[policy_id]["CachePolicy"]["CachePolicyConfig"]["Name"] == name
    got = cf.get_cache_policy(Id=policy_id)
    assert got["CachePolicy"]["CachePolicyConfig"]["Name"] == name and got["ETag"]


@pytest.mark.parametrize(
    ("policy_id", "name"),
    [
        (ALL_VIEWER, "Managed-AllViewer"),
        (ALL_VIEWER_EXCEPT_HOST, "Managed-AllViewerExceptHostHeader"),
    ],
)
def test_managed_origin_request_policies_are_listed_and_gettable(
    cf: Any, policy_id: str, name: str
) -> None:
    listed = cf.list_origin_request_policies(Type="managed")["OriginRequestPolicyList"]["Items"]
    by_id = {s["OriginRequestPolicy"]["Id"]: s for s in listed}
    assert by_id[policy_id]["OriginRequestPolicy"]["OriginRequestPolicyConfig"]["Name"] == name
    got = cf.get_origin_request_policy(Id=policy_id)
    assert got["OriginRequestPolicy"]["OriginRequestPolicyConfig"]["Name"] == name


def test_custom_policy_lists_are_empty(cf: Any) -> None:
    assert cf.list_cache_policies(Type="custom")["CachePolicyList"]["Quantity"] == 0
    assert (
        cf.list_origin_request_policies(Type="custom")["OriginRequestPolicyList"]["Quantity"] == 0
    )


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("CachePolicyId", "NoSuchCachePolicy"),
        ("OriginRequestPolicyId", "NoSuchOriginRequestPolicy"),
    ],
)
def test_unknown_policy_ids_are_rejected(cf: Any, field: str, error: str) -> None:
    fields = {"CachePolicyId": CACHING_DISABLED, field: "00000000-0000-0000-0000-000000000000"}
    config = distribution_config(DefaultCacheBehavior=behaviour(**fields))
    with aws_error(error, 404):
        cf.create_distribution(DistributionConfig=config)


# --------------------------------------------------------------------------- reset


def test_moto_reset_clears_distribution_state(aws: Any) -> None:
    cf = aws.client("cloudfront")
    create_wired(cf)
    urllib.request.urlopen(
        urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    ).read()
    assert cf.list_distributions()["DistributionList"]["Quantity"] == 0
    assert cf.list_functions()["FunctionList"]["Quantity"] == 0


def test_concurrent_updates_with_one_etag_let_exactly_one_win(
    cf: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server is threaded; the If-Match check and the write must be one step. The
    # sandbox runs in this process, so widen the window between check and write (a sleep
    # in the reference checks) to make a missing lock show up every time, not by luck.
    checks = distributions.check_references

    def slow_checks(*args: Any) -> None:
        time.sleep(0.05)
        checks(*args)

    monkeypatch.setattr(distributions, "check_references", slow_checks)
    dist_id, etag, _ = create_wired(cf)
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]

    def attempt(n: int) -> str:
        mine = {**config, "Comment": f"writer {n}"}
        try:
            cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=mine)
            return "ok"
        except ClientError as e:
            return str(e.response["Error"]["Code"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(attempt, range(8)))
    assert outcomes == ["PreconditionFailed"] * 7 + ["ok"]


# ------------------------------------------------- field by field, as AWS documents


def test_a_distribution_reads_back_field_by_field_as_aws_s_documented_example(cf: Any) -> None:
    # AWS's own example (tests/sandbox/aws_examples): a request with a cache policy and an
    # ACM certificate, and the DistributionConfig AWS answered. Adapted in the open:
    # the example's made-up cache policy id becomes the real CachingOptimized one, and its
    # multi-tenant fields (TenantConfig, ConnectionMode: not emulated) are left out.
    # It found that moto drops S3OriginConfig from every origin.
    example = json.loads((EXAMPLES / "create_distribution_example3.json").read_text())
    multi_tenant = ("TenantConfig", "ConnectionMode")
    request = {k: v for k, v in example["request"].items() if k not in multi_tenant}
    request["DefaultCacheBehavior"]["CachePolicyId"] = CACHING_OPTIMIZED
    expected = {k: v for k, v in example["answer"].items() if k not in multi_tenant}
    expected["DefaultCacheBehavior"]["CachePolicyId"] = CACHING_OPTIMIZED
    # The example's answer shows another certificate than its request sent; the request's.
    certificate = request["ViewerCertificate"]["ACMCertificateArn"]
    expected["ViewerCertificate"].update(ACMCertificateArn=certificate, Certificate=certificate)

    created = cf.create_distribution(DistributionConfig=request)["Distribution"]
    answered = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    # Gaps stated in reconciler/sandbox/cloudfront/distribution_shape.py: moto's defaults
    # for fields the request left out, which this (multi-tenant) example omits.
    gaps = {"Aliases": {"Quantity": 0}, "PriceClass": "PriceClass_All", "IsIPV6Enabled": True}
    assert {k: answered.pop(k) for k in gaps} == gaps
    assert answered == expected
    assert created["ActiveTrustedKeyGroups"] == {"Enabled": False, "Quantity": 0}
    assert created["ActiveTrustedSigners"] == {"Enabled": False, "Quantity": 0}


def test_a_legacy_behaviour_reads_back_as_aws_s_2019_example_plus_what_aws_added_since(
    cf: Any,
) -> None:
    example = json.loads((EXAMPLES / "create_distribution_example1.json").read_text())
    created = cf.create_distribution(DistributionConfig=example["request"])["Distribution"]
    answered = cf.get_distribution_config(Id=created["Id"])["DistributionConfig"]
    # Fields AWS introduced after this 2019 answer, as its 2025 example (example 3) shows them.
    later_behaviour = {
        "FunctionAssociations": {"Quantity": 0},
        "GrpcConfig": {"Enabled": False},
        "TrustedKeyGroups": {"Enabled": False, "Quantity": 0},
    }
    later_origin = {
        "ConnectionAttempts": 3,
        "ConnectionTimeout": 10,
        "OriginShield": {"Enabled": False},
        "OriginAccessControlId": "",
    }
    behaviour_, origin = answered["DefaultCacheBehavior"], answered["Origins"]["Items"][0]
    assert {k: behaviour_.pop(k) for k in later_behaviour} == later_behaviour
    assert {k: origin.pop(k) for k in later_origin} == later_origin
    assert answered == example["answer"]
