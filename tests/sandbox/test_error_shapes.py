"""Every error the sandbox answers is one AWS documents, with AWS's status (issue 17.7).

For each service the sandbox emulates beyond moto, each error it can raise is provoked
over the wire with a stock client and compared with botocore's model: the code must be
an error the model declares for that very operation, the HTTP status the model's, and
the message the model's documentation text (where the sandbox has no better source).
The injected throttles are the exception the model cannot check (CloudFront and the
KeyValueStore data plane declare none): they are pinned to what faults.py says it assumes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottlingErrorDetector

from tests.sandbox._cf_support import (
    CACHING_OPTIMIZED,
    behaviour,
    create_function,
    distribution_config,
    function_associations,
    lambda_associations,
    published_function_arn,
)
from tests.sandbox._clients import stock_boto3


@functools.cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


# AWS's common errors, which every operation of a service can answer (the API references'
# "Common Errors" pages), with their statuses.
COMMON = {"ValidationException": 400, "ThrottlingException": 400, "InternalFailure": 500,
          "ServiceUnavailable": 503}  # fmt: skip


def declared(service: str, operation: str, code: str) -> tuple[int, str]:
    """(status, documentation) of `code` if the model declares it for `operation`, or of
    an AWS common error."""
    shapes = {s.name: s for s in _model(service).operation_model(operation).error_shapes}
    if code not in shapes and code in COMMON:
        return COMMON[code], "(common error)"
    assert code in shapes, f"{service}:{operation} does not declare {code}: {sorted(shapes)}"
    meta, fault = shapes[code].metadata, shapes[code]._shape_model.get("fault")
    status = (meta.get("error") or {}).get("httpStatusCode") or (500 if fault else 400)
    return int(status), " ".join(re.sub(r"<[^>]+>", "", shapes[code].documentation).split())


def provoke(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    error: Any = info.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


def check(service: str, operation: str, call: Callable[[], Any]) -> str:
    code, status, message = provoke(call)
    model_status, _ = declared(service, operation, code)
    assert status == model_status, (operation, code, status, model_status)
    return message


# -- CloudFront (rest-xml) ---------------------------------------------------------------------


def test_cloudfront_errors_are_the_model_s(aws: Any) -> None:
    cf = stock_boto3(aws.server, "cloudfront")
    arn = published_function_arn(cf)
    dist = cf.create_distribution(
        DistributionConfig=distribution_config(
            DefaultCacheBehavior=behaviour(
                CachePolicyId=CACHING_OPTIMIZED,
                FunctionAssociations=function_associations((arn, "viewer-request")),
            )
        )
    )
    dist_id, etag = dist["Distribution"]["Id"], dist["ETag"]
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]

    def update(**changes: Any) -> Any:
        return cf.update_distribution(
            Id=dist_id, IfMatch=etag, DistributionConfig={**config, **changes}
        )

    message = check("cloudfront", "UpdateDistribution", lambda: cf.update_distribution(
        Id=dist_id, IfMatch="E0STALE", DistributionConfig=config))  # fmt: skip
    assert "is not the current version" in message
    check("cloudfront", "UpdateDistribution", lambda: cf.update_distribution(
        Id=dist_id, IfMatch="", DistributionConfig=config))  # fmt: skip
    check("cloudfront", "UpdateDistribution", lambda: update(
        DefaultCacheBehavior=behaviour(CachePolicyId="00000000-no-such-policy")))  # fmt: skip
    check("cloudfront", "UpdateDistribution", lambda: update(
        DefaultCacheBehavior=behaviour(CachePolicyId=CACHING_OPTIMIZED,
            LambdaFunctionAssociations=lambda_associations(
                ("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST", "origin-request", False)))))  # fmt: skip
    check("cloudfront", "UpdateDistribution", lambda: update(
        DefaultCacheBehavior=behaviour(CachePolicyId=CACHING_OPTIMIZED,
            FunctionAssociations={"Quantity": 2, "Items": []})))  # fmt: skip
    check("cloudfront", "CreateDistribution", lambda: cf.create_distribution(
        DistributionConfig=distribution_config("ref-2", ViewerCertificate={
            "CloudFrontDefaultCertificate": True,
            "ACMCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"})))  # fmt: skip
    check("cloudfront", "CreateDistribution", lambda: cf.create_distribution(
        DistributionConfig=distribution_config("ref-3", DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_OPTIMIZED,
            FunctionAssociations=function_associations(
                ("arn:aws:cloudfront::123456789012:function/nope", "viewer-request"))))))  # fmt: skip
    check("cloudfront", "DeleteDistribution", lambda: cf.delete_distribution(
        Id=dist_id, IfMatch=cf.get_distribution(Id=dist_id)["ETag"]))  # fmt: skip
    check("cloudfront", "DeleteFunction", lambda: cf.delete_function(
        Name="tier-router", IfMatch=cf.describe_function(Name="tier-router")["ETag"]))  # fmt: skip
    check("cloudfront", "DescribeFunction", lambda: cf.describe_function(Name="missing"))
    check("cloudfront", "CreateFunction", lambda: create_function(cf))
    check("cloudfront", "CreateFunction", lambda: create_function(cf, "other", Runtime="js"))
    too_big = b"//" + b"x" * 11000
    check("cloudfront", "UpdateFunction", lambda: cf.update_function(
        Name="tier-router", IfMatch=cf.describe_function(Name="tier-router")["ETag"],
        FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"}, FunctionCode=too_big))  # fmt: skip


def test_cloudfront_key_value_store_control_plane_errors_are_the_model_s(aws: Any) -> None:
    cf = stock_boto3(aws.server, "cloudfront")
    store = cf.create_key_value_store(Name="tiers")
    arn = store["KeyValueStore"]["ARN"]
    check("cloudfront", "CreateKeyValueStore", lambda: cf.create_key_value_store(Name="tiers"))
    check("cloudfront", "DescribeKeyValueStore", lambda: cf.describe_key_value_store(Name="nope"))
    check(
        "cloudfront",
        "DeleteKeyValueStore",
        lambda: cf.delete_key_value_store(Name="tiers", IfMatch="E0STALE"),
    )
    stores = {"Quantity": 1, "Items": [{"KeyValueStoreARN": arn}]}
    create_function(cf, KeyValueStoreAssociations=stores)
    check("cloudfront", "DeleteKeyValueStore", lambda: cf.delete_key_value_store(
        Name="tiers", IfMatch=cf.describe_key_value_store(Name="tiers")["ETag"]))  # fmt: skip


def test_cloudfront_errors_carry_the_model_s_documentation_by_default() -> None:
    from moto.core.exceptions import ServiceException

    from reconciler.sandbox.cloudfront import errors

    for name in errors.__all__:
        error = getattr(errors, name)
        if not (isinstance(error, type) and issubclass(error, ServiceException)):
            continue
        if error.__module__ != errors.__name__:
            continue  # moto's own classes
        _, documentation = _documented("cloudfront", error.code)
        assert documentation.startswith(error.message.rstrip(".")), (name, documentation)


def _documented(service: str, code: str) -> tuple[int, str]:
    from reconciler.sandbox import wire_model

    found = wire_model.error_shape(service, code)
    assert found is not None, f"{code} is not an error of {service}'s model"
    return found


# -- the KeyValueStore data plane (rest-json) --------------------------------------------------


def test_key_value_store_data_plane_errors_are_the_model_s(aws: Any) -> None:
    arn = stock_boto3(aws.server, "cloudfront").create_key_value_store(Name="tiers")[
        "KeyValueStore"
    ]["ARN"]
    kvs = stock_boto3(aws.server, "cloudfront-keyvaluestore")
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    messages = [
        check("cloudfront-keyvaluestore", "PutKey", lambda: kvs.put_key(
            KvsARN=arn, Key="k", Value="v" * 1025, IfMatch=etag)),
        check("cloudfront-keyvaluestore", "PutKey", lambda: kvs.put_key(
            KvsARN=arn, Key="k", Value="v", IfMatch="KVSTALE")),
        check("cloudfront-keyvaluestore", "GetKey", lambda: kvs.get_key(KvsARN=arn, Key="missing")),
        check("cloudfront-keyvaluestore", "UpdateKeys", lambda: kvs.update_keys(
            KvsARN=arn, IfMatch=etag, Puts=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])),
    ]  # fmt: skip
    documented = ["Validation failed.", "Resource is not in expected state.",
                  "Resource was not found.", "Limit exceeded."]  # fmt: skip
    assert [m.split(". ")[0] + "." for m in messages] == documented


# -- Lambda and DynamoDB (what the sandbox adds to moto) ----------------------------------------


def test_lambda_and_dynamodb_errors_the_sandbox_adds_are_the_model_s(aws: Any) -> None:
    role = stock_boto3(aws.server, "iam").create_role(
        RoleName="r",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lam = stock_boto3(aws.server, "lambda")
    aws.server.hooks.switches.update(lambda_update_reads=1)
    lam.create_function(FunctionName="f", Runtime="nodejs20.x", Role=role, Handler="i.h",
                        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})  # fmt: skip
    check("lambda", "PublishVersion", lambda: lam.publish_version(FunctionName="f"))
    check("lambda", "UpdateFunctionCode", lambda: lam.update_function_code(
        FunctionName="f", ZipFile=b"PK\x05\x06" + b"\x00" * 18))  # fmt: skip
    ddb = stock_boto3(aws.server, "dynamodb")
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")  # fmt: skip
    puts = [{"PutRequest": {"Item": {"id": {"S": str(i)}}}} for i in range(26)]
    check("dynamodb", "BatchWriteItem", lambda: ddb.batch_write_item(RequestItems={"t": puts}))


# -- injected faults ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "call", "throttle"),
    [
        ("dynamodb", "Scan", lambda c: c.scan(TableName="t"), ("ProvisionedThroughputExceededException", 400)),
        ("dynamodb", "ListTables", lambda c: c.list_tables(), ("ThrottlingException", 400)),
        ("lambda", "ListFunctions", lambda c: c.list_functions(), ("TooManyRequestsException", 429)),
        # Assumptions (the models declare no throttling error): see hooks/faults.py.
        ("cloudfront", "ListDistributions", lambda c: c.list_distributions(), ("Throttling", 400)),
    ],
)  # fmt: skip
def test_injected_faults_answer_the_service_s_own_errors(
    aws: Any, service: str, operation: str, call: Callable[[Any], Any], throttle: tuple[str, int]
) -> None:
    client = stock_boto3(aws.server, service)
    hooks = aws.server.hooks
    hooks.inject(service, operation, kind="throttle", count=1)
    code, status, _ = provoke(lambda: call(client))
    assert (code, status) == throttle
    if service != "cloudfront":
        assert (status, code) and declared(service, operation, code)[0] == status
    # botocore's standard retry mode recognises each as throttling.
    hooks.inject(service, operation, kind="throttle", count=1)
    with pytest.raises(ClientError) as info:
        call(client)
    context = RetryContext(attempt_number=1, parsed_response=info.value.response)
    detector = ThrottlingErrorDetector(retry_event_adapter=None)
    assert detector.is_throttling_error_from_context(context)
    hooks.inject(service, operation, kind="internal-error", count=1)
    code, status, _ = provoke(lambda: call(client))
    assert status == 500
    if service != "cloudfront":  # CloudFront: the common error InternalFailure
        assert declared(service, operation, code)[0] == 500
