"""CloudFront Functions in the emulated AWS behave as AWS documents (AWS_FACTS.md).

Stock boto3 over HTTP against the sandbox; one test per documented fact.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox._cf_support import (
    CACHING_DISABLED,
    CODE,
    aws_error,
    behaviour,
    create_function,
    distribution_config,
    function_associations,
    published_function_arn,
)

RUNTIME_2 = "cloudfront-js-2.0"
TIER_ROUTER = Path(__file__).resolve().parents[2] / "edge_functions" / "tier_router"
EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}


@pytest.fixture
def cf(aws: Any) -> Any:
    return aws.client("cloudfront")


def describe(cf: Any, name: str = "tier-router", stage: str = "DEVELOPMENT") -> dict[str, Any]:
    return dict(cf.describe_function(Name=name, Stage=stage))


def update(cf: Any, etag: str, code: bytes = CODE, name: str = "tier-router", **config: Any) -> Any:
    return cf.update_function(
        Name=name,
        IfMatch=etag,
        FunctionConfig={"Comment": "c", "Runtime": RUNTIME_2, **config},
        FunctionCode=code,
    )


# ------------------------------------------------------------------------- stages


def test_create_makes_development_only(cf: Any) -> None:
    etag = create_function(cf)
    dev = describe(cf)
    assert dev["ETag"] == etag
    assert dev["FunctionSummary"]["FunctionMetadata"]["Stage"] == "DEVELOPMENT"
    assert dev["FunctionSummary"]["Status"] == "UNPUBLISHED"


@pytest.mark.parametrize("operation", ["describe_function", "get_function"])
def test_live_does_not_exist_before_the_first_publish(cf: Any, operation: str) -> None:
    create_function(cf)
    with aws_error("NoSuchFunctionExists", 404):
        getattr(cf, operation)(Name="tier-router", Stage="LIVE")


def test_function_metadata_arn_stage_and_times(cf: Any) -> None:
    etag = create_function(cf)
    created = describe(cf)["FunctionSummary"]["FunctionMetadata"]
    assert created["FunctionARN"] == "arn:aws:cloudfront::123456789012:function/tier-router"
    assert isinstance(created["LastModifiedTime"], datetime)
    update(cf, etag, code=b"function handler(e) { return e.request; } // v2")
    updated = describe(cf)["FunctionSummary"]["FunctionMetadata"]
    assert updated["CreatedTime"] == created["CreatedTime"]
    assert updated["LastModifiedTime"] > created["LastModifiedTime"]


def test_publish_copies_development_to_live(cf: Any) -> None:
    etag = update(cf, create_function(cf), code=b"// v2", Comment="second")["ETag"]
    published = cf.publish_function(Name="tier-router", IfMatch=etag)["FunctionSummary"]
    assert published["FunctionMetadata"]["Stage"] == "LIVE"
    assert published["FunctionConfig"]["Comment"] == "second"
    assert cf.get_function(Name="tier-router", Stage="LIVE")["FunctionCode"].read() == b"// v2"
    assert describe(cf, stage="LIVE")["FunctionSummary"]["FunctionMetadata"]["Stage"] == "LIVE"


def test_live_keeps_the_published_code_while_development_moves_on(cf: Any) -> None:
    etag = create_function(cf)
    cf.publish_function(Name="tier-router", IfMatch=etag)
    update(cf, etag, code=b"// draft", Comment="draft")
    live = cf.get_function(Name="tier-router", Stage="LIVE")
    assert live["FunctionCode"].read() == CODE
    assert describe(cf, stage="LIVE")["FunctionSummary"]["FunctionConfig"]["Comment"] == "c"
    dev = cf.get_function(Name="tier-router", Stage="DEVELOPMENT")
    assert dev["FunctionCode"].read() == b"// draft"
    assert dev["ETag"] != live["ETag"]


@pytest.mark.parametrize(("stage", "expected"), [("DEVELOPMENT", 2), ("LIVE", 1), (None, 3)])
def test_list_functions_filters_by_stage(cf: Any, stage: str | None, expected: int) -> None:
    published_function_arn(cf, "published")
    create_function(cf, "draft")
    listed = cf.list_functions(**({"Stage": stage} if stage else {}))["FunctionList"]
    assert listed["Quantity"] == expected
    if stage:
        assert {s["FunctionMetadata"]["Stage"] for s in listed["Items"]} == {stage}


# ----------------------------------------------------------------- UpdateFunction


def test_update_function_etag_is_not_empty_on_a_stock_client(cf: Any) -> None:
    # botocore reads UpdateFunction's ETag from a header named "ETtag"; both are sent.
    updated = update(cf, create_function(cf))
    headers = updated["ResponseMetadata"]["HTTPHeaders"]
    assert updated["ETag"]
    assert headers["ettag"] == headers["etag"] == updated["ETag"] == describe(cf)["ETag"]


def test_update_rotates_the_etag_and_stale_one_is_precondition_failed(cf: Any) -> None:
    first = create_function(cf)
    second = update(cf, first, code=b"// v2")["ETag"]
    assert second != first
    with aws_error("PreconditionFailed", 412):
        update(cf, first, code=b"// lost update")
    assert cf.get_function(Name="tier-router")["FunctionCode"].read() == b"// v2"


def test_update_without_if_match_is_invalid_if_match_version(cf: Any) -> None:
    create_function(cf)
    with aws_error("InvalidIfMatchVersion", 400):
        update(cf, "")


def test_update_changes_function_config(cf: Any) -> None:
    store_arn = cf.create_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    stores = {"Quantity": 1, "Items": [{"KeyValueStoreARN": store_arn}]}
    update(cf, create_function(cf), Comment="with store", KeyValueStoreAssociations=stores)
    config = describe(cf)["FunctionSummary"]["FunctionConfig"]
    assert config == {
        "Comment": "with store",
        "Runtime": RUNTIME_2,
        "KeyValueStoreAssociations": stores,
    }


def test_update_of_a_missing_function_is_no_such_function(cf: Any) -> None:
    with aws_error("NoSuchFunctionExists", 404):
        update(cf, "E0ANY", name="missing")


# ------------------------------------------------------------------------- limits


@pytest.mark.parametrize("write", ["create", "update"])
def test_code_over_10_kb_is_function_size_limit_exceeded(cf: Any, write: str) -> None:
    too_big = b"x" * (10 * 1024 + 1)
    etag = create_function(cf)
    with aws_error("FunctionSizeLimitExceeded", 413):
        if write == "create":
            create_function(cf, "too-big", code=too_big)
        else:
            update(cf, etag, code=too_big)


def test_code_of_exactly_10_kb_is_accepted(cf: Any) -> None:
    create_function(cf, code=b"x" * (10 * 1024))


def test_a_function_has_at_most_one_key_value_store(cf: Any) -> None:
    arns = [cf.create_key_value_store(Name=n)["KeyValueStore"]["ARN"] for n in ("a", "b")]
    stores = {"Quantity": 2, "Items": [{"KeyValueStoreARN": a} for a in arns]}
    with aws_error("InvalidArgument", 400):
        create_function(cf, KeyValueStoreAssociations=stores)


def test_key_value_stores_need_runtime_2(cf: Any) -> None:
    arn = cf.create_key_value_store(Name="a")["KeyValueStore"]["ARN"]
    stores = {"Quantity": 1, "Items": [{"KeyValueStoreARN": arn}]}
    with aws_error("InvalidArgument", 400):
        create_function(cf, Runtime="cloudfront-js-1.0", KeyValueStoreAssociations=stores)


# ---------------------------------------------------------------- PublishFunction


def test_publish_with_stale_etag_is_precondition_failed(cf: Any) -> None:
    first = create_function(cf)
    update(cf, first, code=b"// v2")
    with aws_error("PreconditionFailed", 412):
        cf.publish_function(Name="tier-router", IfMatch=first)


def test_publish_with_the_live_etag_fails_once_development_moved(cf: Any) -> None:
    etag = create_function(cf)
    cf.publish_function(Name="tier-router", IfMatch=etag)
    update(cf, etag, code=b"// v2")
    live_etag = describe(cf, stage="LIVE")["ETag"]
    with aws_error("PreconditionFailed", 412):
        cf.publish_function(Name="tier-router", IfMatch=live_etag)


def test_publish_redeploys_distributions_using_the_function(aws: Any, cf: Any) -> None:
    arn = published_function_arn(cf)
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED,
            FunctionAssociations=function_associations((arn, "viewer-request")),
        )
    )
    dist = cf.create_distribution(DistributionConfig=config)
    aws.server.hooks.switches.update(distribution_deploy_reads=1)
    dist_id = dist["Distribution"]["Id"]
    assert cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "Deployed"
    cf.publish_function(Name="tier-router", IfMatch=describe(cf)["ETag"])
    got = cf.get_distribution_config(Id=dist_id)
    assert got["ETag"] != dist["ETag"]
    with aws_error("PreconditionFailed", 412):
        cf.update_distribution(
            Id=dist_id, IfMatch=dist["ETag"], DistributionConfig=got["DistributionConfig"]
        )


# ----------------------------------------------------------------- DeleteFunction


def test_delete_checks_if_match(cf: Any) -> None:
    first = create_function(cf)
    current = update(cf, first, code=b"// v2")["ETag"]
    with aws_error("InvalidIfMatchVersion", 400):
        cf.delete_function(Name="tier-router", IfMatch="")
    with aws_error("PreconditionFailed", 412):
        cf.delete_function(Name="tier-router", IfMatch=first)
    cf.delete_function(Name="tier-router", IfMatch=current)
    with aws_error("NoSuchFunctionExists", 404):
        describe(cf)


def test_a_function_in_use_cannot_be_deleted(cf: Any) -> None:
    arn = published_function_arn(cf)
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_DISABLED,
            FunctionAssociations=function_associations((arn, "viewer-request")),
        )
    )
    cf.create_distribution(DistributionConfig=config)
    with aws_error("FunctionInUse", 409):
        cf.delete_function(Name="tier-router", IfMatch=describe(cf)["ETag"])


# ------------------------------------------------------------------- TestFunction


def test_function_runs_the_stage_code_once_with_the_decoded_event(cf: Any) -> None:
    etag = create_function(cf, code=TAGGING.replace("STAGE", "live").encode())
    cf.publish_function(Name="tier-router", IfMatch=etag)
    dev_code = TAGGING.replace("STAGE", "development").encode()
    dev_etag = update(cf, etag, code=dev_code)["ETag"]

    dev = cf.test_function(
        Name="tier-router", IfMatch=dev_etag, Stage="DEVELOPMENT", EventObject=json.dumps(EVENT)
    )["TestResult"]
    live_etag = describe(cf, stage="LIVE")["ETag"]
    live = cf.test_function(
        Name="tier-router", IfMatch=live_etag, Stage="LIVE", EventObject=json.dumps(EVENT)
    )["TestResult"]

    assert dev["FunctionSummary"]["FunctionMetadata"]["Stage"] == "DEVELOPMENT"
    assert dev["FunctionExecutionLogs"] == ["stage=development uri=/"]  # one execution
    assert live["FunctionExecutionLogs"] == ["stage=live uri=/"]
    assert dev["FunctionErrorMessage"] == ""
    request = {**EVENT["request"], "headers": {"x-stage": {"value": "development"}}}
    assert json.loads(dev["FunctionOutput"]) == {"request": request}
    assert 1 <= int(dev["ComputeUtilization"]) <= 100


# A function that tags the request with the stage it was written as, and logs once.
TAGGING = (
    "function handler(event) {\n"
    "  console.log('stage=STAGE uri=' + event.request.uri);\n"
    "  event.request.headers['x-stage'] = {value: 'STAGE'};\n"
    "  return event.request;\n}\n"
)


def test_function_reports_a_returned_response_and_errors(cf: Any) -> None:
    redirect = (
        "function handler(event) { return {statusCode: 302, statusDescription: 'Found', "
        "headers: {location: {value: 'https://example.com/'}}}; }"
    )
    etag = create_function(cf, code=redirect.encode())
    ran = cf.test_function(Name="tier-router", IfMatch=etag, EventObject=json.dumps(EVENT))
    response = json.loads(ran["TestResult"]["FunctionOutput"])["response"]
    assert (response["statusCode"], response["headers"]["location"]["value"]) == (
        302,
        "https://example.com/",
    )

    throwing = b"function handler(event) { var x; return x.missing; }"
    etag = update(cf, etag, code=throwing)["ETag"]
    failed = cf.test_function(Name="tier-router", IfMatch=etag, EventObject=json.dumps(EVENT))
    assert "TypeError" in failed["TestResult"]["FunctionErrorMessage"]
    assert failed["TestResult"]["FunctionOutput"] == ""


def test_function_reads_the_associated_store(aws: Any) -> None:
    cf = aws.client("cloudfront")
    store_arn = cf.create_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    kvs = aws.client("cloudfront-keyvaluestore")
    kvs.put_key(
        KvsARN=store_arn,
        Key="standard",
        Value="standard-api.example.com",
        IfMatch=kvs.describe_key_value_store(KvsARN=store_arn)["ETag"],
    )
    stores = {"Quantity": 1, "Items": [{"KeyValueStoreARN": store_arn}]}
    code = (
        "import cf from 'cloudfront';\nconst kvs = cf.kvs();\n"
        "async function handler(event) {\n"
        "  event.request.headers['x-origin'] = {value: await kvs.get('standard')};\n"
        "  return event.request;\n}\n"
    )
    etag = create_function(cf, code=code.encode(), KeyValueStoreAssociations=stores)
    result = cf.test_function(Name="tier-router", IfMatch=etag, EventObject=json.dumps(EVENT))
    output = json.loads(result["TestResult"]["FunctionOutput"])
    assert output["request"]["headers"]["x-origin"] == {"value": "standard-api.example.com"}


def test_function_with_stale_etag_is_precondition_failed(cf: Any) -> None:
    first = create_function(cf)
    update(cf, first, code=b"// v2")
    with aws_error("PreconditionFailed", 412):
        cf.test_function(Name="tier-router", IfMatch=first, EventObject=json.dumps(EVENT))


def test_function_with_a_non_json_event_is_invalid_argument(cf: Any) -> None:
    etag = create_function(cf)
    with aws_error("InvalidArgument", 400):
        cf.test_function(Name="tier-router", IfMatch=etag, EventObject=b"not json")


def test_function_runs_real_code_through_the_node_harness(aws: Any) -> None:
    # The real engine end to end: the seed's tier router, its store, one of its test events.
    cf, kvs = aws.client("cloudfront"), aws.client("cloudfront-keyvaluestore")
    case = json.loads(
        (TIER_ROUTER / "tests" / "01-premium-routes-to-premium-origin.json").read_text()
    )
    store_arn = cf.create_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    kvs.update_keys(
        KvsARN=store_arn,
        IfMatch=kvs.describe_key_value_store(KvsARN=store_arn)["ETag"],
        Puts=[{"Key": k, "Value": v} for k, v in case["kvs"].items()],
    )
    stores = {"Quantity": 1, "Items": [{"KeyValueStoreARN": store_arn}]}
    code = (TIER_ROUTER / "index.js").read_bytes()
    etag = create_function(cf, code=code, KeyValueStoreAssociations=stores)

    result = cf.test_function(
        Name="tier-router", IfMatch=etag, EventObject=json.dumps(case["event"])
    )["TestResult"]

    assert result["FunctionErrorMessage"] == ""
    assert json.loads(result["FunctionOutput"]) == {"request": case["event"]["request"]}
    assert any('"route":"tier"' in line for line in result["FunctionExecutionLogs"])


def test_a_sandbox_without_node_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # TestFunction always runs the real code: no Node, no sandbox (and never an answer
    # the real service cannot give).
    from reconciler import sandbox

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(sandbox.SandboxStartError, match="node is not on PATH"):
        sandbox.start()
