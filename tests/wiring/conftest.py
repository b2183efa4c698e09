"""A seed-shaped world in the emulated AWS, built with stock boto3 clients: a distribution
with a default and a /tenant/* behaviour (legacy cache settings, nothing associated), a
published CloudFront Function, and a Lambda@Edge function with one published version."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.core.wiring import DEFAULT_PATH, BehaviorRefs, DistributionSelector

FUNCTION_CODE = b"""
function handler(event) {
    var request = event.request;
    request.headers['x-tier'] = {value: 'standard'};
    return request;
}
"""
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
LEGACY = {
    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
    "MinTTL": 0,
    "DefaultTTL": 86400,
    "MaxTTL": 31536000,
}


def _origin(origin_id: str, domain: str) -> dict[str, Any]:
    return {
        "Id": origin_id,
        "DomainName": domain,
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "https-only",
        },
    }


def _behaviour(origin: str, path: str | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "TargetOriginId": origin,
        "ViewerProtocolPolicy": "redirect-to-https",
        **copy.deepcopy(LEGACY),
    }
    return raw if path is None else {"PathPattern": path, **raw}


def distribution_config(comment: str, alias: str, reference: str) -> dict[str, Any]:
    return {
        "CallerReference": reference,
        "Comment": comment,
        "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [alias]},
        "Origins": {
            "Quantity": 3,
            "Items": [
                _origin("default", "standard-api.example.com"),
                _origin("tenant", "tenant-api.example.com"),
                _origin("static", "static.example.com"),
            ],
        },
        "DefaultCacheBehavior": _behaviour("default"),
        "CacheBehaviors": {
            "Quantity": 2,
            "Items": [_behaviour("tenant", "/tenant/*"), _behaviour("static", "/static/*")],
        },
        "Logging": {
            "Enabled": True,
            "IncludeCookies": False,
            "Bucket": "shop-logs.s3.amazonaws.com",
            "Prefix": "cf/",
        },
    }


def lambda_zip(body: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.mjs", body)
    return buf.getvalue()


@dataclass
class Seed:
    aws: Any
    cf: Any  # a test-side client: the "other writer", never the adapter's own
    lam: Any
    distribution_id: str
    function_name: str = "tier-router"
    lambda_name: str = "tenant-router"
    alias: str = "shop.example.com"
    comment: str = "shop"

    @property
    def selector(self) -> DistributionSelector:
        return DistributionSelector(id=self.distribution_id)

    def refs(self, **tenant: Any) -> tuple[BehaviorRefs, ...]:
        """The seed's Distribution document, as route-file names."""
        return (
            BehaviorRefs(DEFAULT_PATH, functions={"viewer-request": self.function_name}),
            BehaviorRefs(
                "/tenant/*",
                lambdas={"origin-request": (self.lambda_name, True)},
                cache_policy=tenant.get("cache_policy", "CachingDisabled"),
                origin_request_policy=tenant.get(
                    "origin_request_policy", "AllViewerExceptHostHeader"
                ),
            ),
        )

    def config(self) -> tuple[dict[str, Any], str]:
        resp = self.cf.get_distribution_config(Id=self.distribution_id)
        return resp["DistributionConfig"], resp["ETag"]

    def publish_lambda(self, body: str) -> str:
        """New code + PublishVersion; returns the new version ARN."""
        self.lam.update_function_code(FunctionName=self.lambda_name, ZipFile=lambda_zip(body))
        self.lam.get_waiter("function_updated").wait(FunctionName=self.lambda_name)
        return str(self.lam.publish_version(FunctionName=self.lambda_name)["FunctionArn"])


@pytest.fixture
def seed(aws: Any) -> Iterator[Seed]:
    cf = aws.client("cloudfront")
    created = cf.create_distribution(
        DistributionConfig=distribution_config("shop", "shop.example.com", "seed-1")
    )
    etag = cf.create_function(
        Name="tier-router",
        FunctionConfig={"Comment": "tier router", "Runtime": "cloudfront-js-2.0"},
        FunctionCode=FUNCTION_CODE,
    )["ETag"]
    cf.publish_function(Name="tier-router", IfMatch=etag)

    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="tenant-router-edge", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName="tenant-router",
        Runtime="nodejs20.x",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={
            "ZipFile": lambda_zip("export const handler = async (e) => e.Records[0].cf.request;\n")
        },
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="tenant-router")
    lam.publish_version(FunctionName="tenant-router")
    yield Seed(aws=aws, cf=cf, lam=lam, distribution_id=created["Distribution"]["Id"])
