"""Builders shared by the CloudFront sandbox tests: stock request shapes, nothing emulated."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
LAMBDA_V1 = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:1"
LAMBDA_V2 = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:2"
CODE = b"function handler(event) { return event.request; }"


def behaviour(**extra: Any) -> dict[str, Any]:
    return {"TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https", **extra}


def distribution_config(reference: str = "ref-1", **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "CallerReference": reference,
        "Comment": "sandbox",
        "Enabled": True,
        "Origins": {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "api",
                    "DomainName": "standard-api.example.com",
                    "CustomOriginConfig": {
                        "HTTPPort": 80,
                        "HTTPSPort": 443,
                        "OriginProtocolPolicy": "https-only",
                    },
                }
            ],
        },
        "DefaultCacheBehavior": behaviour(CachePolicyId=CACHING_OPTIMIZED),
    }
    config.update(extra)
    return copy.deepcopy(config)


def function_associations(*pairs: tuple[str, str]) -> dict[str, Any]:
    items = [{"FunctionARN": arn, "EventType": event} for arn, event in pairs]
    return {"Quantity": len(items), "Items": items}


def lambda_associations(*triples: tuple[str, str, bool]) -> dict[str, Any]:
    items = [
        {"LambdaFunctionARN": arn, "EventType": event, "IncludeBody": body}
        for arn, event, body in triples
    ]
    return {"Quantity": len(items), "Items": items}


def create_function(cf: Any, name: str = "tier-router", code: bytes = CODE, **config: Any) -> str:
    """Creates a DEVELOPMENT function; returns its ETag."""
    function_config = {"Comment": "c", "Runtime": "cloudfront-js-2.0", **config}
    etag: str = cf.create_function(Name=name, FunctionConfig=function_config, FunctionCode=code)[
        "ETag"
    ]
    return etag


def published_function_arn(cf: Any, name: str = "tier-router") -> str:
    etag = create_function(cf, name)
    arn: str = cf.publish_function(Name=name, IfMatch=etag)["FunctionSummary"]["FunctionMetadata"][
        "FunctionARN"
    ]
    return arn


@contextmanager
def aws_error(code: str, status: int) -> Iterator[pytest.ExceptionInfo[ClientError]]:
    """Expects a ClientError with exactly this error code and HTTP status."""
    with pytest.raises(ClientError) as info:
        yield info
    error = info.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        code,
        status,
    ), error
