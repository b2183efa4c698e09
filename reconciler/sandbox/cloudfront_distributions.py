"""Distribution behaviour that moto 5.2.5 lacks, added from outside (see shared/AWS_FACTS.md).

What this module adds on top of moto's CloudFront backend:
- FunctionAssociations / LambdaFunctionAssociations survive on every cache behaviour
  (moto's ``DefaultCacheBehaviour.__init__`` hard-codes them to ``Quantity: 0``), with the
  checks AWS makes on them (quantities, event types, version-qualified Lambda@Edge ARNs
  in us-east-1, CloudFront Functions published to LIVE).
- A behaviour with a cache policy carries no ForwardedValues / MinTTL / DefaultTTL /
  MaxTTL (AWS rejects them next to a cache policy, so a read-modify-write client must
  never be handed them by the emulator).
- UpdateDistribution / DeleteDistribution check If-Match (missing: InvalidIfMatchVersion,
  stale: PreconditionFailed 412); every accepted change rotates the ETag and sends the
  distribution back to InProgress until it has been read ``deploy_after_reads()`` times.
- The managed cache and origin request policies the route files name, listable and
  gettable, and referenced ids are checked against them.

All mutable state stays on moto's model objects, so ``POST /moto-api/reset`` clears it.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from moto.cloudfront import urls as cf_urls
from moto.cloudfront.models import (
    CacheBehaviour,
    CloudFrontBackend,
    DefaultCacheBehaviour,
    Distribution,
    random_id,
)
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.moto_api._internal.managed_state_model import ManagedState

DEPLOY_READS_ENV = "RECONCILER_SANDBOX_CF_DEPLOY_READS"

# Real distributions take minutes to deploy; the emulator counts reads instead of time so
# that tests are deterministic: 0 = deployed at once, N = deployed on the N-th read
# (GetDistribution, GetDistributionConfig or ListDistributions) after the last change.
_deploy_after_reads = int(os.environ.get(DEPLOY_READS_ENV, "2"))

_install_lock = threading.Lock()
# moto's server is threaded: an If-Match check and the write it guards must be one step,
# as on AWS, or two writers holding the same ETag could both succeed. The functions
# module takes the same lock (publishing writes distribution ETags too).
WRITE_LOCK = threading.RLock()
_installed = False
_PATCH_MARK = "_reconciler_patched"


def set_deploy_after_reads(reads: int) -> None:
    """How many reads a changed distribution stays InProgress for (process-wide)."""
    if reads < 0:
        raise ValueError("reads must be >= 0")
    global _deploy_after_reads
    _deploy_after_reads = reads


def deploy_after_reads() -> int:
    return _deploy_after_reads


# --------------------------------------------------------------------------- errors
# Codes are shapes of botocore's model, so moto's serializer takes the HTTP status from it.


class PreconditionFailed(ServiceException):
    code = "PreconditionFailed"
    message = "The If-Match version is missing or not valid for the resource."


class InvalidIfMatchVersion(ServiceException):
    code = "InvalidIfMatchVersion"
    message = "The If-Match version is missing or not valid for the resource."


class InvalidArgument(ServiceException):
    code = "InvalidArgument"


class InconsistentQuantities(ServiceException):
    code = "InconsistentQuantities"
    message = "The value of Quantity and the size of Items don't match."


class InvalidFunctionAssociation(ServiceException):
    code = "InvalidFunctionAssociation"


class InvalidLambdaFunctionAssociation(ServiceException):
    code = "InvalidLambdaFunctionAssociation"


class NoSuchCachePolicy(ServiceException):
    code = "NoSuchCachePolicy"
    message = "The cache policy does not exist."


class NoSuchOriginRequestPolicy(ServiceException):
    code = "NoSuchOriginRequestPolicy"
    message = "The origin request policy does not exist."


class DistributionNotDisabled(ServiceException):
    code = "DistributionNotDisabled"
    message = "The distribution you are trying to delete has not been disabled."


# ------------------------------------------------------------------ managed policies

_MANAGED_POLICY_TIME = datetime(2020, 7, 21, tzinfo=UTC)


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


# Ids are AWS's published managed-policy ids (identical in every account).
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
# Managed policies never change, so their ETag is a constant.
_MANAGED_POLICY_ETAG = "E23ZP02F085DFQ"


# ------------------------------------------------------------ cache behaviour model

_FUNCTION_EVENT_TYPES = frozenset({"viewer-request", "viewer-response"})
_LAMBDA_EVENT_TYPES = frozenset(
    {"viewer-request", "viewer-response", "origin-request", "origin-response"}
)
# Lambda@Edge takes a numbered version in us-east-1: never $LATEST, an alias or no qualifier.
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]+:(?P<version>[^:]+)$"
)


def _items(block: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Items of a {Quantity, Items} block, after AWS's Quantity == len(Items) check."""
    if not block:
        return []
    items = list(block.get("Items") or [])
    if int(block.get("Quantity", 0)) != len(items):
        raise InconsistentQuantities()
    return items


def _function_associations(block: dict[str, Any] | None) -> dict[str, Any]:
    items = _items(block)
    for item in items:
        if item.get("EventType") not in _FUNCTION_EVENT_TYPES:
            raise InvalidFunctionAssociation(
                f"CloudFront Functions support viewer-request and viewer-response only, "
                f"not {item.get('EventType')!r}."
            )
    _reject_duplicate_event_types(items, InvalidFunctionAssociation)
    associations = [{"FunctionARN": i["FunctionARN"], "EventType": i["EventType"]} for i in items]
    return _quantity_block(associations)


def _lambda_function_associations(block: dict[str, Any] | None) -> dict[str, Any]:
    items = _items(block)
    for item in items:
        _check_lambda_arn(str(item.get("LambdaFunctionARN", "")))
        if item.get("EventType") not in _LAMBDA_EVENT_TYPES:
            raise InvalidLambdaFunctionAssociation(
                f"Invalid Lambda@Edge event type {item.get('EventType')!r}."
            )
    _reject_duplicate_event_types(items, InvalidLambdaFunctionAssociation)
    associations = [
        {
            "LambdaFunctionARN": i["LambdaFunctionARN"],
            "EventType": i["EventType"],
            "IncludeBody": bool(i.get("IncludeBody", False)),
        }
        for i in items
    ]
    return _quantity_block(associations)


def _check_lambda_arn(arn: str) -> None:
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


def _reject_duplicate_event_types(
    items: list[dict[str, Any]], error: type[ServiceException]
) -> None:
    event_types = [i.get("EventType") for i in items]
    if len(event_types) != len(set(event_types)):
        raise error(f"Only one association per event type is allowed: {event_types}.")


def _quantity_block(items: list[dict[str, Any]]) -> dict[str, Any]:
    # AWS omits Items when Quantity is 0; the serializer drops None members.
    return {"Quantity": len(items), "Items": items or None}


# AWS rejects each of these next to a CachePolicyId ("The parameter MinTTL cannot be used
# when a cache policy is associated to the cache behavior."), and returns none of them.
LEGACY_CACHE_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")


def _check_legacy_fields(config: dict[str, Any]) -> None:
    if not config.get("CachePolicyId"):
        return
    for field in LEGACY_CACHE_FIELDS:
        if field in config:
            raise InvalidArgument(
                f"The parameter {field} cannot be used when a cache policy is associated "
                "to the cache behavior."
            )


def _patched_behaviour_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: DefaultCacheBehaviour, config: dict[str, Any]) -> None:
        _check_legacy_fields(config)
        original(self, config)
        self.function_associations = _function_associations(config.get("FunctionAssociations"))
        self.lambda_function_associations = _lambda_function_associations(
            config.get("LambdaFunctionAssociations")
        )
        if config.get("CachePolicyId"):
            # moto fills in defaults for the legacy fields; the serializer drops None.
            self.forwarded_values = None  # type: ignore[assignment]
            self.min_ttl = self.default_ttl = self.max_ttl = None

    setattr(__init__, _PATCH_MARK, True)
    return __init__


# ----------------------------------------------------------- references and status


def _behaviours(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield config.get("DefaultCacheBehavior") or {}
    yield from (config.get("CacheBehaviors") or {}).get("Items") or []


def _check_references(backend: CloudFrontBackend, config: dict[str, Any]) -> None:
    """The checks AWS makes against other resources before it accepts a config."""
    # Imported here: the functions module imports this one for mark_redeploying().
    from reconciler.sandbox.cloudfront_functions import has_live_stage

    for behaviour in _behaviours(config):
        cache_policy = behaviour.get("CachePolicyId")
        if cache_policy and cache_policy not in MANAGED_CACHE_POLICIES:
            raise NoSuchCachePolicy(f"The cache policy does not exist: {cache_policy}")
        origin_policy = behaviour.get("OriginRequestPolicyId")
        if origin_policy and origin_policy not in MANAGED_ORIGIN_REQUEST_POLICIES:
            raise NoSuchOriginRequestPolicy(
                f"The origin request policy does not exist: {origin_policy}"
            )
        for item in (behaviour.get("FunctionAssociations") or {}).get("Items") or []:
            arn = str(item.get("FunctionARN", ""))
            function = backend.functions.get(arn.rsplit("/", 1)[-1])
            if function is None or function.arn != arn or not has_live_stage(function):
                raise InvalidFunctionAssociation(
                    f"The function ARN {arn} must refer to a function published to the LIVE stage."
                )


def mark_redeploying(distribution: Distribution) -> None:
    """A change was accepted: new ETag, and InProgress until deployed again."""
    distribution.etag = random_id()
    distribution._tick = 0


def distributions_using(backend: CloudFrontBackend, function_arn: str) -> list[Distribution]:
    """Distributions whose behaviours associate the CloudFront Function ``function_arn``."""
    found = []
    for distribution in backend.distributions.values():
        config = vars(distribution.distribution_config)
        behaviours = [config["DefaultCacheBehavior"], *_cache_behaviour_items(config)]
        if any(
            item["FunctionARN"] == function_arn
            for b in behaviours
            for item in (b.function_associations.get("Items") or [])
        ):
            found.append(distribution)
    return found


def _cache_behaviour_items(config: dict[str, Any]) -> list[CacheBehaviour]:
    return list(config["CacheBehaviors"].get("Items") or [])


def _status(self: Distribution) -> str:
    return "Deployed" if self._tick >= _deploy_after_reads else "InProgress"


def _set_status(self: Distribution, value: str) -> None:
    # Status is derived from the read count; moto's own assignments are ignored on purpose.
    return None


def _check_if_match(distribution: Distribution, if_match: str | None) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != distribution.etag:
        raise PreconditionFailed(
            f"The If-Match version {if_match} is not the current version "
            f"of distribution {distribution.distribution_id}."
        )


# ---------------------------------------------------------------- backend methods


def _patch_create(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_distribution_with_tags(
        self: CloudFrontBackend, distribution_config: dict[str, Any], tags: list[dict[str, str]]
    ) -> Any:
        with WRITE_LOCK:
            _check_references(self, distribution_config)
            return original(self, distribution_config, tags)

    return create_distribution_with_tags


def _patch_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_distribution(
        self: CloudFrontBackend, dist_config: dict[str, Any], _id: str, if_match: str | None
    ) -> tuple[Distribution, str, str]:
        with WRITE_LOCK:
            distribution, _ = _get_distribution_without_read(self, _id)
            _check_if_match(distribution, if_match)
            _check_references(self, dist_config or {})
            distribution, location, _ = original(self, dist_config, _id, if_match)
            mark_redeploying(distribution)
            return distribution, location, distribution.etag

    return update_distribution


def _patch_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_distribution(
        self: CloudFrontBackend, distribution_id: str, if_match: str | None
    ) -> None:
        with WRITE_LOCK:
            distribution, _ = _get_distribution_without_read(self, distribution_id)
            _check_if_match(distribution, if_match)
            # AWS deletes only a distribution that is disabled and whose disabling has
            # finished deploying.
            if vars(distribution.distribution_config).get("Enabled"):
                raise DistributionNotDisabled()
            if distribution.status != "Deployed":
                raise DistributionNotDisabled(
                    "The distribution is disabled but still InProgress; wait until Deployed."
                )
            original(self, distribution_id, if_match)

    return delete_distribution


def _get_distribution_without_read(
    self: CloudFrontBackend, distribution_id: str
) -> tuple[Distribution, str]:
    """Like get_distribution, but not counted as a read towards Deployed."""
    from moto.cloudfront.exceptions import NoSuchDistribution

    distribution = self.distributions.get(distribution_id)
    if distribution is None:
        raise NoSuchDistribution()
    return distribution, distribution.etag


# ------------------------------------------------------------- policy operations


def _list_result(
    key: str, policies: list[dict[str, Any]], kind: str, max_items: int
) -> ActionResult:
    summaries = [{"Type": "managed", kind: p} for p in policies]
    return ActionResult(
        {key: {"MaxItems": max_items, "Quantity": len(summaries), "Items": summaries or None}}
    )


def _managed_only(response: CloudFrontResponse, policies: dict[str, dict[str, Any]]) -> list[Any]:
    # Custom policies are not emulated, so "custom" lists nothing and no filter lists all.
    return [] if response._get_param("Type") == "custom" else list(policies.values())


def list_cache_policies(self: CloudFrontResponse) -> ActionResult:
    policies = _managed_only(self, MANAGED_CACHE_POLICIES)
    max_items = self._get_int_param("MaxItems", 100)
    return _list_result("CachePolicyList", policies, "CachePolicy", max_items)


def list_origin_request_policies(self: CloudFrontResponse) -> ActionResult:
    policies = _managed_only(self, MANAGED_ORIGIN_REQUEST_POLICIES)
    max_items = self._get_int_param("MaxItems", 100)
    return _list_result("OriginRequestPolicyList", policies, "OriginRequestPolicy", max_items)


def _cache_policy_by_id(response: CloudFrontResponse) -> dict[str, Any]:
    policy_id = response._get_param("Id")
    if policy_id not in MANAGED_CACHE_POLICIES:
        raise NoSuchCachePolicy()
    return MANAGED_CACHE_POLICIES[policy_id]


def _origin_request_policy_by_id(response: CloudFrontResponse) -> dict[str, Any]:
    policy_id = response._get_param("Id")
    if policy_id not in MANAGED_ORIGIN_REQUEST_POLICIES:
        raise NoSuchOriginRequestPolicy()
    return MANAGED_ORIGIN_REQUEST_POLICIES[policy_id]


def get_cache_policy(self: CloudFrontResponse) -> ActionResult:
    return ActionResult({"CachePolicy": _cache_policy_by_id(self), "ETag": _MANAGED_POLICY_ETAG})


def get_cache_policy_config(self: CloudFrontResponse) -> ActionResult:
    config: dict[str, Any] = _cache_policy_by_id(self)["CachePolicyConfig"]
    return ActionResult({"CachePolicyConfig": config, "ETag": _MANAGED_POLICY_ETAG})


def get_origin_request_policy(self: CloudFrontResponse) -> ActionResult:
    policy = _origin_request_policy_by_id(self)
    return ActionResult({"OriginRequestPolicy": policy, "ETag": _MANAGED_POLICY_ETAG})


def get_origin_request_policy_config(self: CloudFrontResponse) -> ActionResult:
    config: dict[str, Any] = _origin_request_policy_by_id(self)["OriginRequestPolicyConfig"]
    return ActionResult({"OriginRequestPolicyConfig": config, "ETag": _MANAGED_POLICY_ETAG})


_POLICY_ROUTES = (
    "{0}/2020-05-31/cache-policy$",
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)$",
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)/config$",
    "{0}/2020-05-31/origin-request-policy$",
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)$",
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)/config$",
)
_RESPONSE_METHODS: dict[str, Callable[[CloudFrontResponse], ActionResult]] = {
    f.__name__: f
    for f in (
        list_cache_policies,
        list_origin_request_policies,
        get_cache_policy,
        get_cache_policy_config,
        get_origin_request_policy,
        get_origin_request_policy_config,
    )
}


# -------------------------------------------------------------------------- install

# (owner, attribute, parameter names) moto must still have for the patches to be right.
EXTENSION_POINTS: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (DefaultCacheBehaviour, "__init__", ("self", "config")),
    (CloudFrontBackend, "create_distribution_with_tags", ("self", "distribution_config", "tags")),
    (CloudFrontBackend, "update_distribution", ("self", "dist_config", "_id", "if_match")),
    (CloudFrontBackend, "delete_distribution", ("self", "distribution_id", "if_match")),
    (CloudFrontBackend, "get_distribution", ("self", "distribution_id")),
    (Distribution, "advance", ("self",)),
    (CloudFrontResponse, "dispatch", ("args", "kwargs")),
    (CloudFrontResponse, "_get_param", ("self", "param_name", "if_none")),
)


def check_extension_points() -> list[str]:
    """What moto no longer offers that this module patches (empty when all is well)."""
    problems = []
    for owner, name, params in EXTENSION_POINTS:
        target = getattr(owner, name, None)
        if target is None:
            problems.append(f"{owner.__name__}.{name} is gone")
            continue
        found = tuple(inspect.signature(inspect.unwrap(target)).parameters)
        if found != params:
            problems.append(f"{owner.__name__}.{name}{found} is not {name}{params}")
    if not isinstance(getattr(cf_urls, "url_paths", None), dict):
        problems.append("moto.cloudfront.urls.url_paths is no longer a dict")
    if not issubclass(Distribution, ManagedState) or "_tick" not in _stored_attributes(
        ManagedState.__init__
    ):
        problems.append("Distribution no longer counts reads in ManagedState._tick")
    return problems


def _stored_attributes(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(function.__code__.co_names)


def install() -> None:
    """Patch moto's CloudFront models, backend and routes once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        problems = check_extension_points()
        if problems:
            raise RuntimeError(
                "moto's CloudFront internals changed; reconciler.sandbox.cloudfront_distributions "
                "needs updating: " + "; ".join(problems)
            )
        if not getattr(DefaultCacheBehaviour.__init__, _PATCH_MARK, False):
            DefaultCacheBehaviour.__init__ = _patched_behaviour_init(  # type: ignore[method-assign]
                DefaultCacheBehaviour.__init__
            )
        Distribution.status = property(_status, _set_status)  # type: ignore[assignment,method-assign]
        backend: Any = CloudFrontBackend
        backend.create_distribution_with_tags = _patch_create(backend.create_distribution_with_tags)
        backend.update_distribution = _patch_update(backend.update_distribution)
        backend.delete_distribution = _patch_delete(backend.delete_distribution)
        for route in _POLICY_ROUTES:
            cf_urls.url_paths[route] = CloudFrontResponse.dispatch
        for name, method in _RESPONSE_METHODS.items():
            setattr(CloudFrontResponse, name, method)
        _installed = True
