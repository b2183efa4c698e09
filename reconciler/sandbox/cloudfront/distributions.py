"""Distribution writes as AWS makes them: If-Match, references, ETag and deployment.

What moto 5.2.5 does instead: UpdateDistribution and DeleteDistribution accept any
If-Match ("The IfMatch-value is ignored"), the ETag never changes, the status never goes
back to InProgress, references to policies and functions are not checked, and a deleted
distribution need not be disabled. Here:

- UpdateDistribution / DeleteDistribution check If-Match (missing: InvalidIfMatchVersion
  400, stale: PreconditionFailed 412); each accepted change rotates the ETag, moves
  LastModifiedTime and sends the distribution back to InProgress until the read the
  `distribution_deploy_reads` switch names reports Deployed.
- Cache and origin request policy ids must exist (NoSuchCachePolicy,
  NoSuchOriginRequestPolicy 404); a CloudFront Function association must name a function
  published to LIVE (InvalidFunctionAssociation 400).
- DeleteDistribution needs a disabled distribution whose disabling has deployed
  (DistributionNotDisabled 409).

Gaps from AWS (kept): a Lambda@Edge version ARN is checked for its shape and region, not
for existence or state; deploying takes reads, not minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from moto.cloudfront.models import CloudFrontBackend, Distribution

from reconciler.sandbox.cloudfront import distribution_shape, policies, state
from reconciler.sandbox.cloudfront.errors import (
    DistributionNotDisabled,
    InvalidFunctionAssociation,
    InvalidIfMatchVersion,
    NoSuchDistribution,
    PreconditionFailed,
)


def _behaviours(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield config.get("DefaultCacheBehavior") or {}
    yield from (config.get("CacheBehaviors") or {}).get("Items") or []


def check_references(backend: CloudFrontBackend, config: dict[str, Any]) -> None:
    """The checks AWS makes against other resources before it accepts a config."""
    for behaviour in _behaviours(config):
        if behaviour.get("CachePolicyId"):
            policies.cache_policy(behaviour["CachePolicyId"])
        if behaviour.get("OriginRequestPolicyId"):
            policies.origin_request_policy(behaviour["OriginRequestPolicyId"])
        for item in (behaviour.get("FunctionAssociations") or {}).get("Items") or []:
            arn = str(item.get("FunctionARN", ""))
            function = backend.functions.get(arn.rsplit("/", 1)[-1])
            if function is None or function.arn != arn or not state.has_live_stage(function):
                raise InvalidFunctionAssociation(
                    f"The function ARN {arn} must refer to a function published to the LIVE stage."
                )


def check_if_match(distribution: Distribution, if_match: str | None) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != distribution.etag:
        raise PreconditionFailed(
            f"The If-Match version {if_match} is not the current version "
            f"of distribution {distribution.distribution_id}."
        )


def _unread(backend: CloudFrontBackend, distribution_id: str) -> Distribution:
    """Like get_distribution, but not counted as a read towards Deployed."""
    distribution = backend.distributions.get(distribution_id)
    if distribution is None:
        raise NoSuchDistribution()
    return distribution


def _status(self: Distribution) -> str:
    return "Deployed" if state.is_deployed(self) else "InProgress"


def _ignore_status(self: Distribution, value: str) -> None:
    # Status is derived from the read count; moto's own assignments are ignored on purpose.
    return None


def _patch_create(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_distribution_with_tags(
        self: CloudFrontBackend, distribution_config: dict[str, Any], tags: list[dict[str, str]]
    ) -> Any:
        with state.WRITE_LOCK:
            check_references(self, distribution_config)
            distribution, location, etag = original(self, distribution_config, tags)
            distribution_shape.touch(distribution)
            return distribution, location, etag

    return create_distribution_with_tags


def _patch_update(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_distribution(
        self: CloudFrontBackend, dist_config: dict[str, Any], _id: str, if_match: str | None
    ) -> tuple[Distribution, str, str]:
        with state.WRITE_LOCK:
            check_if_match(_unread(self, _id), if_match)
            check_references(self, dist_config or {})
            distribution, location, _ = original(self, dist_config, _id, if_match)
            state.mark_redeploying(distribution)
            distribution_shape.touch(distribution)
            return distribution, location, distribution.etag

    return update_distribution


def _patch_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def delete_distribution(
        self: CloudFrontBackend, distribution_id: str, if_match: str | None
    ) -> None:
        with state.WRITE_LOCK:
            distribution = _unread(self, distribution_id)
            check_if_match(distribution, if_match)
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


def install() -> None:
    Distribution.status = property(_status, _ignore_status)  # type: ignore[assignment,method-assign]
    backend: Any = CloudFrontBackend
    backend.create_distribution_with_tags = _patch_create(backend.create_distribution_with_tags)
    backend.update_distribution = _patch_update(backend.update_distribution)
    backend.delete_distribution = _patch_delete(backend.delete_distribution)
