"""Seed an emulated (or empty) account with what the blog's console steps create by hand.

The reconciler's route files take over from there: it creates the KeyValueStore, the
DynamoDB table and the functions itself, so the seed must not. Seeding is idempotent: the
role is found by name, the distribution by its comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.aws.clients import AwsTarget, make_client

ROLE_NAME = "tenant-router-edge"
READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"
# moto's server does not load AWS managed policies by default (loading them makes every
# reset slow), so where the managed one is missing the seed attaches an equivalent
# customer-managed policy: the DynamoDB read actions of AmazonDynamoDBReadOnlyAccess.
FALLBACK_POLICY_NAME = "tenant-router-edge-dynamodb-read"
FALLBACK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "dynamodb:BatchGetItem",
                "dynamodb:Describe*",
                "dynamodb:List*",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:PartiQLSelect",
            ],
            "Resource": "*",
        }
    ],
}
from reconciler.emulator import DISTRIBUTION_COMMENT  # noqa: E402  (one definition)

DEFAULT_ORIGIN_ID = "basic-api"
ORIGINS = {
    "basic-api": "basic-api.example.com",
    "standard-api": "standard-api.example.com",
    "premium-api": "premium-api.example.com",
}
TENANT_PATH = "/tenant/*"
# AWS managed cache policies (their ids are the same in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class SeedResult:
    role_arn: str
    distribution_id: str
    created: tuple[str, ...]  # what this run created; empty when already seeded


def seed(target: AwsTarget) -> SeedResult:
    created: list[str] = []
    role_arn = _ensure_role(make_client("iam", target), created)
    distribution_id = _ensure_distribution(make_client("cloudfront", target), created)
    return SeedResult(role_arn, distribution_id, tuple(created))


def _ensure_role(iam: Any, created: list[str]) -> str:
    try:
        role = iam.get_role(RoleName=ROLE_NAME)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Lambda@Edge execution role of the tenant router",
        )["Role"]
        created.append(f"iam role {ROLE_NAME}")
    _ensure_read_policy(iam, created)
    return str(role["Arn"])


def _ensure_read_policy(iam: Any, created: list[str]) -> None:
    attached = {
        p["PolicyName"]
        for p in iam.list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]
    }
    if attached & {"AmazonDynamoDBReadOnlyAccess", FALLBACK_POLICY_NAME}:
        return
    try:
        iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=READ_ONLY_POLICY_ARN)
        created.append(f"policy attachment {READ_ONLY_POLICY_ARN}")
        return
    except iam.exceptions.NoSuchEntityException:
        pass
    arn = _local_policy_arn(iam)
    if arn is None:
        arn = iam.create_policy(
            PolicyName=FALLBACK_POLICY_NAME, PolicyDocument=json.dumps(FALLBACK_POLICY)
        )["Policy"]["Arn"]
        created.append(f"iam policy {FALLBACK_POLICY_NAME}")
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    created.append(f"policy attachment {arn}")


def _local_policy_arn(iam: Any) -> str | None:
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page["Policies"]:
            if policy["PolicyName"] == FALLBACK_POLICY_NAME:
                return str(policy["Arn"])
    return None


def find_distribution_id(cloudfront: Any, comment: str = DISTRIBUTION_COMMENT) -> str | None:
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for summary in page.get("DistributionList", {}).get("Items", []) or []:
            if summary.get("Comment") == comment:
                return str(summary["Id"])
    return None


def _ensure_distribution(cloudfront: Any, created: list[str]) -> str:
    existing = find_distribution_id(cloudfront)
    if existing is not None:
        return existing
    dist = cloudfront.create_distribution(DistributionConfig=distribution_config())["Distribution"]
    created.append(f"distribution {dist['Id']}")
    return str(dist["Id"])


def _origin(origin_id: str, domain: str) -> dict[str, Any]:
    return {
        "Id": origin_id,
        "DomainName": domain,
        "CustomOriginConfig": {
            "HTTPPort": 80,
            "HTTPSPort": 443,
            "OriginProtocolPolicy": "https-only",
            "OriginSslProtocols": {"Quantity": 1, "Items": ["TLSv1.2"]},
        },
    }


def distribution_config() -> dict[str, Any]:
    """The console-made distribution: basic-api as default origin, /tenant/* uncached.

    The behaviours carry no function associations and no origin request policy: wiring
    them is the reconciler's job (the Distribution route document).
    """
    return {
        # A fixed reference makes a second CreateDistribution a no-op on AWS too.
        "CallerReference": "edge-routing-example-seed",
        "Comment": DISTRIBUTION_COMMENT,
        "Enabled": True,
        "Origins": {
            "Quantity": len(ORIGINS),
            "Items": [_origin(i, d) for i, d in ORIGINS.items()],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": DEFAULT_ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
            # The walkthrough's tier requests are POSTs to API origins.
            "AllowedMethods": {
                "Quantity": 7,
                "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
            },
        },
        "CacheBehaviors": {
            "Quantity": 1,
            "Items": [
                {
                    "PathPattern": TENANT_PATH,
                    "TargetOriginId": DEFAULT_ORIGIN_ID,
                    "ViewerProtocolPolicy": "https-only",
                    "CachePolicyId": CACHING_DISABLED,
                    "AllowedMethods": {
                        "Quantity": 7,
                        "Items": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
                        "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
                    },
                }
            ],
        },
    }
