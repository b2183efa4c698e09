"""The AWS managed cache and origin request policies the route files name.

moto 5.2.5 has no policies at all. The ids are AWS's published managed-policy ids
(identical in every account; CloudFront Developer Guide, "Use managed cache policies" and
"Use managed origin request policies").

Gap from AWS: only these four managed policies exist, and custom policies cannot be
created (CreateCachePolicy / CreateOriginRequestPolicy are not emulated), so a `custom`
listing is always empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.sandbox.cloudfront.errors import NoSuchCachePolicy, NoSuchOriginRequestPolicy

_MANAGED_POLICY_TIME = datetime(2020, 7, 21, tzinfo=UTC)
# Managed policies never change, so their ETag is a constant.
MANAGED_POLICY_ETAG = "E23ZP02F085DFQ"


def _cache_policy(
    policy_id: str, name: str, comment: str, ttl: tuple[int, int, int], compress: bool
) -> dict[str, Any]:
    min_ttl, default_ttl, max_ttl = ttl
    return {
        "Id": policy_id,
        "LastModifiedTime": _MANAGED_POLICY_TIME,
        "CachePolicyConfig": {
            "Comment": comment,
            "Name": name,
            "DefaultTTL": default_ttl,
            "MaxTTL": max_ttl,
            "MinTTL": min_ttl,
            "ParametersInCacheKeyAndForwardedToOrigin": {
                "EnableAcceptEncodingGzip": compress,
                "EnableAcceptEncodingBrotli": compress,
                "HeadersConfig": {"HeaderBehavior": "none"},
                "CookiesConfig": {"CookieBehavior": "none"},
                "QueryStringsConfig": {"QueryStringBehavior": "none"},
            },
        },
    }


def _origin_request_policy(
    policy_id: str, name: str, comment: str, headers: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Id": policy_id,
        "LastModifiedTime": _MANAGED_POLICY_TIME,
        "OriginRequestPolicyConfig": {
            "Comment": comment,
            "Name": name,
            "HeadersConfig": headers,
            "CookiesConfig": {"CookieBehavior": "all"},
            "QueryStringsConfig": {"QueryStringBehavior": "all"},
        },
    }


MANAGED_CACHE_POLICIES: dict[str, dict[str, Any]] = {
    p["Id"]: p
    for p in (
        _cache_policy(
            "658327ea-f89d-4fab-a63d-7e88639e58f6",
            "Managed-CachingOptimized",
            "Policy with caching enabled. Supports Gzip and Brotli compression.",
            (1, 86400, 31536000),
            True,
        ),
        _cache_policy(
            "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            "Managed-CachingDisabled",
            "Policy with caching disabled",
            (0, 0, 0),
            False,
        ),
    )
}
MANAGED_ORIGIN_REQUEST_POLICIES: dict[str, dict[str, Any]] = {
    p["Id"]: p
    for p in (
        _origin_request_policy(
            "216adef6-5c7f-47e4-b989-5492eafa07d3",
            "Managed-AllViewer",
            "Policy to forward all parameters in viewer requests",
            {"HeaderBehavior": "allViewer"},
        ),
        _origin_request_policy(
            "b689b0a8-53d0-40ab-baf2-68738e2966ac",
            "Managed-AllViewerExceptHostHeader",
            "Policy to forward all parameters in viewer requests except for the Host header",
            {"HeaderBehavior": "allExcept", "Headers": {"Quantity": 1, "Items": ["host"]}},
        ),
    )
}


def cache_policy(policy_id: str | None) -> dict[str, Any]:
    if policy_id not in MANAGED_CACHE_POLICIES:
        raise NoSuchCachePolicy()
    return MANAGED_CACHE_POLICIES[policy_id]


def origin_request_policy(policy_id: str | None) -> dict[str, Any]:
    if policy_id not in MANAGED_ORIGIN_REQUEST_POLICIES:
        raise NoSuchOriginRequestPolicy()
    return MANAGED_ORIGIN_REQUEST_POLICIES[policy_id]


def listed(policies: dict[str, dict[str, Any]], wanted_type: str | None) -> list[dict[str, Any]]:
    """ListCachePolicies / ListOriginRequestPolicies filtered by Type (managed|custom)."""
    return [] if wanted_type == "custom" else list(policies.values())
