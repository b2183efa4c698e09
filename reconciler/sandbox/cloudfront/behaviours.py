"""Cache behaviours as CloudFront stores and returns them (moto's model, corrected).

moto 5.2.5's `DefaultCacheBehaviour.__init__` drops every association (hard-coded
`Quantity: 0`), fills legacy cache fields next to a cache policy, defaults Compress to
true and returns empty elements for fields nobody set. The patched constructor below
keeps moto's and adds what AWS does. The reference for every returned field is AWS's own
example output for a behaviour with a cache policy (AWS CLI `create-distribution`
example 3, from the CloudFront API reference's examples): TrustedKeyGroups {Enabled
false, Quantity 0}, Compress false, LambdaFunctionAssociations and FunctionAssociations
{Quantity 0}, FieldLevelEncryptionId "", GrpcConfig {Enabled false}; TrustedSigners,
SmoothStreaming, RealtimeLogConfigArn, OriginRequestPolicyId and ResponseHeadersPolicyId
only when the request set them; Items omitted when Quantity is 0 (API reference 2016-09-07:
"Optional. Omit when Quantity = 0").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from moto.cloudfront.models import CacheBehaviour, DefaultCacheBehaviour
from moto.core.exceptions import ServiceException

from reconciler.sandbox.cloudfront.errors import (
    InconsistentQuantities,
    InvalidArgument,
    InvalidFunctionAssociation,
    InvalidLambdaFunctionAssociation,
)

_PATCH_MARK = "_reconciler_patched"
FUNCTION_EVENT_TYPES = frozenset({"viewer-request", "viewer-response"})
LAMBDA_EVENT_TYPES = frozenset(
    {"viewer-request", "viewer-response", "origin-request", "origin-response"}
)
# Lambda@Edge takes a numbered version in us-east-1: never $LATEST, an alias or no qualifier.
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[A-Za-z0-9_-]+)"
    r":(?P<version>[^:]+)$"
)
# AWS rejects each of these next to a CachePolicyId ("The parameter MinTTL cannot be used
# when a cache policy is associated to the cache behavior."), and returns none of them.
LEGACY_CACHE_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")
# Returned only when the request set them (see the module docstring).
_ECHOED_ONLY = {
    "SmoothStreaming": "smooth_streaming",
    "RealtimeLogConfigArn": "realtime_log_config_arn",
    "OriginRequestPolicyId": "origin_request_policy_id",
    "ResponseHeadersPolicyId": "response_headers_policy_id",
    "CachePolicyId": "cache_policy_id",
}


def items(block: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Items of a {Quantity, Items} block, after AWS's Quantity == len(Items) check."""
    if not block:
        return []
    listed = list(block.get("Items") or [])
    if int(block.get("Quantity", 0)) != len(listed):
        raise InconsistentQuantities()
    return listed


def quantity_block(listed: list[Any]) -> dict[str, Any]:
    # AWS omits Items when Quantity is 0; moto's serializer drops None members.
    return {"Quantity": len(listed), "Items": listed or None}


def _function_associations(block: dict[str, Any] | None) -> dict[str, Any]:
    listed = items(block)
    for item in listed:
        if item.get("EventType") not in FUNCTION_EVENT_TYPES:
            raise InvalidFunctionAssociation(
                f"CloudFront Functions support viewer-request and viewer-response only, "
                f"not {item.get('EventType')!r}."
            )
    _reject_duplicate_event_types(listed, InvalidFunctionAssociation)
    return quantity_block(
        [{"FunctionARN": i["FunctionARN"], "EventType": i["EventType"]} for i in listed]
    )


def _lambda_function_associations(block: dict[str, Any] | None) -> dict[str, Any]:
    listed = items(block)
    for item in listed:
        lambda_version(str(item.get("LambdaFunctionARN", "")))
        if item.get("EventType") not in LAMBDA_EVENT_TYPES:
            raise InvalidLambdaFunctionAssociation(
                f"Invalid Lambda@Edge event type {item.get('EventType')!r}."
            )
    _reject_duplicate_event_types(listed, InvalidLambdaFunctionAssociation)
    return quantity_block(
        [
            {
                "LambdaFunctionARN": i["LambdaFunctionARN"],
                "EventType": i["EventType"],
                "IncludeBody": bool(i.get("IncludeBody", False)),
            }
            for i in listed
        ]
    )


def lambda_version(arn: str) -> tuple[str, str]:
    """(function name, version) of a Lambda@Edge association ARN, as AWS checks it."""
    match = _LAMBDA_VERSION_ARN.match(arn)
    if match is None or not match.group("version").isdigit():
        raise InvalidLambdaFunctionAssociation(
            "The function ARN must reference a specific function version. "
            f"(The ARN must end with the version number.) ARN: {arn}"
        )
    if match.group("region") != "us-east-1":
        raise InvalidLambdaFunctionAssociation(
            f"The function must be in region 'us-east-1'. ARN: {arn}"
        )
    return match.group("name"), match.group("version")


def _reject_duplicate_event_types(
    listed: list[dict[str, Any]], error: type[ServiceException]
) -> None:
    event_types = [i.get("EventType") for i in listed]
    if len(event_types) != len(set(event_types)):
        raise error(f"Only one association per event type is allowed: {event_types}.")


def _check_legacy_fields(config: dict[str, Any]) -> None:
    if not config.get("CachePolicyId"):
        return
    for name in LEGACY_CACHE_FIELDS:
        if name in config:
            raise InvalidArgument(
                f"The parameter {name} cannot be used when a cache policy is associated "
                "to the cache behavior."
            )


def _signers(block: dict[str, Any] | None) -> dict[str, Any]:
    listed = list((block or {}).get("Items") or [])
    return {"Enabled": bool(listed), "Quantity": len(listed), "Items": listed or None}


def _patched_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: DefaultCacheBehaviour, config: dict[str, Any]) -> None:
        _check_legacy_fields(config)
        original(self, config)
        self.function_associations = _function_associations(config.get("FunctionAssociations"))
        self.lambda_function_associations = _lambda_function_associations(
            config.get("LambdaFunctionAssociations")
        )
        behaviour: Any = self  # moto types these as its own classes; AWS's shape is a dict
        behaviour.trusted_signers = (
            _signers(config["TrustedSigners"]) if "TrustedSigners" in config else None
        )
        behaviour.trusted_key_groups = _signers(config.get("TrustedKeyGroups"))
        # API reference: Compress is false unless the request says true.
        self.compress = bool(config.get("Compress", False))
        self.field_level_encryption_id = config.get("FieldLevelEncryptionId") or ""
        behaviour.grpc_config = config.get("GrpcConfig") or {"Enabled": False}
        for name, attribute in _ECHOED_ONLY.items():
            setattr(self, attribute, config.get(name) if config.get(name) != "" else None)
        if config.get("CachePolicyId"):
            # moto fills in defaults for the legacy fields; the serializer drops None.
            self.forwarded_values = None  # type: ignore[assignment]
            self.min_ttl = self.default_ttl = self.max_ttl = None
        else:
            _legacy_defaults(self, config)

    setattr(__init__, _PATCH_MARK, True)
    return __init__


def _legacy_defaults(behaviour: DefaultCacheBehaviour, config: dict[str, Any]) -> None:
    """A behaviour without a cache policy: the TTL defaults of the API reference
    (DefaultTTL "1 day (86400 seconds)", MaxTTL "31536000 seconds (one year)"; moto says 0)
    and ForwardedValues' empty Headers / QueryStringCacheKeys lists, as AWS returns them."""
    behaviour.default_ttl = config.get("DefaultTTL", 86400)
    behaviour.max_ttl = config.get("MaxTTL", 31536000)
    forwarded = vars(behaviour.forwarded_values)
    forwarded.setdefault("Headers", {"Quantity": 0})
    forwarded.setdefault("QueryStringCacheKeys", {"Quantity": 0})


def _patched_cache_behaviour_init(original: Callable[..., None]) -> Callable[..., None]:
    # moto's CacheBehaviour re-reads two ids after super().__init__ with "" defaults.
    @functools.wraps(original)
    def __init__(self: CacheBehaviour, config: dict[str, Any]) -> None:
        original(self, config)
        self.cache_policy_id = config.get("CachePolicyId") or None
        self.origin_request_policy_id = config.get("OriginRequestPolicyId") or None

    setattr(__init__, _PATCH_MARK, True)
    return __init__


def install() -> None:
    """Replace moto's behaviour constructors (CacheBehaviour also calls the default one)."""
    if not getattr(DefaultCacheBehaviour.__init__, _PATCH_MARK, False):
        DefaultCacheBehaviour.__init__ = _patched_init(  # type: ignore[method-assign]
            DefaultCacheBehaviour.__init__
        )
    if not getattr(CacheBehaviour.__init__, _PATCH_MARK, False):
        CacheBehaviour.__init__ = _patched_cache_behaviour_init(  # type: ignore[method-assign]
            CacheBehaviour.__init__
        )
