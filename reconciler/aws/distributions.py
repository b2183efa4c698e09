"""Distribution adapter: find a distribution, read it, list policies, write it once.

UpdateDistribution replaces the whole DistributionConfig, so the engine sends back the
config it observed with only the owned fields changed (core/wiring.apply_wiring), under
IfMatch = the ETag it observed. A 412 means someone wrote in between: one ConflictError
for the pass to re-observe and re-plan. This adapter never re-reads and retries on its
own: what is written is what the plan showed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import WaiterError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import FatalError, NotFoundError, RetryableError, translated
from reconciler.core.policies import PolicyCatalog
from reconciler.core.wiring import DistributionSelector, ObservedDistribution, observe_config

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

# (distribution id, the ETag about to be sent as IfMatch): called right before each
# UpdateDistribution. A seam for tests that need a concurrent writer at that instant.
BeforeWrite = Callable[[str, str], None]
# (status, seconds waited so far)
DeployProgress = Callable[[str, float], None]


class WiringError(FatalError):
    """Retrying cannot help: the declaration does not match what exists."""

    def __init__(self, message: str, code: str = "WiringError") -> None:
        super().__init__(message, code)


class DistributionAdapter:
    def __init__(self, target: AwsTarget, *, before_write: BeforeWrite | None = None) -> None:
        self._cf: CloudFrontClient = make_client("cloudfront", target)
        self._before_write = before_write

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._cf,)

    # ------------------------------------------------------------------ observe

    def find(self, selector: DistributionSelector) -> str:
        """The distribution id a selector names; exactly one must match."""
        if selector.id is not None:
            return selector.id
        matches = [s["Id"] for s in self._summaries() if _selected(selector, s)]
        if len(matches) == 1:
            return str(matches[0])
        if not matches:
            raise WiringError(f"no distribution has {selector.describe()}", "DistributionNotFound")
        raise WiringError(
            f"{len(matches)} distributions have {selector.describe()} ({', '.join(sorted(matches))}); "
            "select the distribution by id",
            "DistributionAmbiguous",
        )

    def read(self, name: str, distribution_id: str) -> ObservedDistribution:
        # GetDistribution, not GetDistributionConfig: the same config and the same ETag,
        # plus the deployment status, in one call.
        try:
            with translated("GetDistribution", subject=f"distribution {name}"):
                resp = self._cf.get_distribution(Id=distribution_id)
        except NotFoundError as exc:
            raise WiringError(
                f"distribution {name}: no distribution with id {distribution_id}",
                "DistributionNotFound",
            ) from exc
        dist = resp["Distribution"]
        return observe_config(
            name,
            distribution_id,
            str(resp["ETag"]),
            str(dist["Status"]),
            dist["DistributionConfig"],
        )

    def lambda_versions_in_use(self) -> frozenset[str]:
        """Lambda version ARNs any distribution of the account associates (declared or not):
        clean-up never deletes one. ListDistributions' summaries carry every behaviour."""
        arns: set[str] = set()
        for summary in self._summaries():
            behaviors = [summary.get("DefaultCacheBehavior") or {}]
            behaviors += (summary.get("CacheBehaviors") or {}).get("Items") or []
            for behavior in behaviors:
                block = behavior.get("LambdaFunctionAssociations") or {}
                arns.update(str(a["LambdaFunctionARN"]) for a in block.get("Items") or [])
        return frozenset(arns)

    def _summaries(self) -> Iterator[Mapping[str, Any]]:
        with translated("ListDistributions"):
            for page in self._cf.get_paginator("list_distributions").paginate():
                yield from page.get("DistributionList", {}).get("Items") or []

    def cache_policies(self) -> PolicyCatalog:
        return self._policies(
            "cache policy", "list_cache_policies", "CachePolicyList", "CachePolicy", "CachePolicyConfig"
        )

    def origin_request_policies(self) -> PolicyCatalog:
        return self._policies(
            "origin request policy",
            "list_origin_request_policies",
            "OriginRequestPolicyList",
            "OriginRequestPolicy",
            "OriginRequestPolicyConfig",
        )

    def _policies(
        self, kind: str, operation: str, list_key: str, item_key: str, config_key: str
    ) -> PolicyCatalog:
        by_name: dict[str, str] = {}
        # Managed first: a custom policy that reuses a managed name does not shadow it.
        for policy_type in ("managed", "custom"):
            marker: str | None = None
            while True:
                kwargs: dict[str, Any] = {"Type": policy_type}
                if marker:
                    kwargs["Marker"] = marker
                with translated(operation.title().replace("_", "")):
                    listing = getattr(self._cf, operation)(**kwargs)[list_key]
                for summary in listing.get("Items") or []:
                    policy = summary[item_key]
                    by_name.setdefault(str(policy[config_key]["Name"]), str(policy["Id"]))
                marker = listing.get("NextMarker")
                if not marker:
                    break
        return PolicyCatalog(kind, by_name)

    # -------------------------------------------------------------------- write

    def update(self, name: str, distribution_id: str, config: Mapping[str, Any], etag: str) -> str:
        """One UpdateDistribution under IfMatch; returns the new ETag. 412 -> ConflictError."""
        if self._before_write is not None:
            self._before_write(distribution_id, etag)
        with translated("UpdateDistribution", subject=f"distribution {name} ({distribution_id})"):
            resp = self._cf.update_distribution(
                Id=distribution_id,
                IfMatch=etag,
                DistributionConfig=config,  # type: ignore[arg-type]
            )
        return str(resp["ETag"])

    # ------------------------------------------------------------------- deploy

    def wait_deployed(
        self,
        distribution_id: str,
        *,
        timeout: float = 1800.0,
        delay: float = 20.0,
        on_progress: DeployProgress | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Block until the distribution is Deployed (AWS reports 10-35 minutes), polling
        with botocore's distribution_deployed waiter one attempt at a time so that
        progress can be reported between attempts."""
        waiter = self._cf.get_waiter("distribution_deployed")
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            try:
                waiter.wait(Id=distribution_id, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
            except WaiterError as exc:
                last: Mapping[str, Any] = exc.last_response or {}
                if "Error" in last:
                    raise FatalError(
                        f"distribution {distribution_id}: {last['Error']}", "WaitFailed"
                    ) from exc
                status = str(last.get("Distribution", {}).get("Status", "unknown"))
                if on_progress is not None:
                    on_progress(status, elapsed)
                if elapsed + delay > timeout:
                    raise RetryableError(
                        f"distribution {distribution_id} still {status} after {elapsed:.0f}s",
                        "DeployTimeout",
                    ) from exc
                sleep(delay)
                continue
            if on_progress is not None:
                on_progress("Deployed", elapsed)
            return


def _selected(selector: DistributionSelector, summary: Mapping[str, Any]) -> bool:
    if selector.alias is not None:
        aliases = summary.get("Aliases", {}).get("Items") or []
        # DNS names are case-insensitive; CloudFront stores them as given.
        return selector.alias.lower() in (str(a).lower() for a in aliases)
    return summary.get("Comment") == selector.comment
