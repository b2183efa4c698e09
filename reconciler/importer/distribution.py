"""A distribution's behaviours -> a Distribution document, with names instead of ARNs.

Only behaviours that run edge code are declared: declaring a behaviour makes the
reconciler own its associations, and a behaviour without any is better left to whoever
manages the rest of the distribution. The declared behaviours keep their cache and
origin request policies, by managed name where AWS has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.distributions import DistributionAdapter, WiringError
from reconciler.core.wiring import DistributionSelector, ObservedBehavior
from reconciler.importer.model import ImportError_
from reconciler.routes import (
    EVENT_TYPES,
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    Distribution,
)

_EVENT_FIELDS = {wire: field_name for field_name, wire in EVENT_TYPES.items()}
_CF_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudfront::\d{12}:function/(?P<name>[A-Za-z0-9_-]{1,64})$"
)
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(?P<name>[A-Za-z0-9_-]+):(?P<version>\d+)$"
)


@dataclass
class ImportedDistribution:
    documents: list[Distribution] = field(default_factory=list)
    cloudfront_functions: set[str] = field(default_factory=set)
    lambda_versions: dict[str, int] = field(default_factory=dict)  # name -> associated version
    notes: list[str] = field(default_factory=list)
    # (kind, name) -> where the document came from (id, ETag), for a comment above it.
    sources: dict[tuple[str, str], str] = field(default_factory=dict)


class DistributionImporter:
    def __init__(self, target: AwsTarget) -> None:
        self._adapter = DistributionAdapter(target)
        self._cf = make_client("cloudfront", target)
        self._policy_names: dict[str, dict[str, str]] = {}

    def distribution(self, selector: DistributionSelector, into: ImportedDistribution) -> None:
        try:
            distribution_id = self._adapter.find(selector)
        except WiringError as exc:
            raise ImportError_(str(exc)) from exc
        observed = self._adapter.read(distribution_id, distribution_id)
        name = _document_name(selector, distribution_id)
        behaviors = [
            self._behavior(b, name, into)
            for b in observed.behaviors.values()
            if b.function_associations or b.lambda_associations
        ]
        if not behaviors:
            into.notes.append(
                f"distribution {distribution_id}: no behaviour runs edge code; no Distribution "
                "document written (declare the behaviours to wire by hand)"
            )
            return
        wire_selector = {"id": selector.id} if selector.id else {"comment": selector.comment}
        into.documents.append(
            Distribution.model_validate(
                {
                    "metadata": {"name": name},
                    "spec": {"selector": wire_selector, "behaviors": behaviors},
                }
            )
        )
        owned = ", ".join(b["path"] for b in behaviors)
        into.sources[("Distribution", name)] = (
            f"distribution {distribution_id} ({observed.config.get('Comment') or 'no comment'}), "
            f"ETag {observed.etag}: the behaviours that run edge code ({owned}); the others "
            "are left to whoever manages them"
        )

    def _behavior(
        self, seen: ObservedBehavior, dist: str, into: ImportedDistribution
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"path": seen.path}
        for event, arn in sorted(seen.function_associations.items()):
            match = _CF_FUNCTION_ARN.match(arn)
            if match is None:
                raise ImportError_(
                    f"distribution {dist} {seen.path}: not a CloudFront Function ARN: {arn}"
                )
            out[_EVENT_FIELDS[event]] = {"function": match["name"]}
            into.cloudfront_functions.add(match["name"])
        for event, assoc in sorted(seen.lambda_associations.items()):
            match = _LAMBDA_VERSION_ARN.match(assoc.arn)
            if match is None:
                raise ImportError_(
                    f"distribution {dist} {seen.path}: not a numbered Lambda version ARN: {assoc.arn}"
                )
            lam, version = match["name"], int(match["version"])
            ref: dict[str, Any] = {"lambda": lam}
            if assoc.include_body:
                ref["includeBody"] = True
            out[_EVENT_FIELDS[event]] = ref
            known = into.lambda_versions.get(lam)
            if known is not None and known != version:
                into.notes.append(
                    f"lambda {lam}: behaviours associate versions {known} and {version}; route "
                    f"files declare one, version {max(known, version)} was imported and the "
                    "first apply wires it everywhere"
                )
            into.lambda_versions[lam] = max(version, known or 0)
        if seen.cache_policy_id:
            out["cachePolicy"] = self._policy_ref("cache", seen.cache_policy_id)
        if seen.origin_request_policy_id:
            out["originRequestPolicy"] = self._policy_ref(
                "origin-request", seen.origin_request_policy_id
            )
        return out

    def _policy_ref(self, kind: str, policy_id: str) -> str:
        """A managed policy by the name route files use; anything else by id."""
        names = self._policy_names.get(kind)
        if names is None:
            names = self._policy_names[kind] = self._managed_policies(kind)
        name = names.get(policy_id, "").removeprefix("Managed-")
        known = MANAGED_CACHE_POLICIES if kind == "cache" else MANAGED_ORIGIN_REQUEST_POLICIES
        return name if name in known else policy_id

    def _managed_policies(self, kind: str) -> dict[str, str]:
        operation, list_key, item_key, config_key = (
            ("list_cache_policies", "CachePolicyList", "CachePolicy", "CachePolicyConfig")
            if kind == "cache"
            else (
                "list_origin_request_policies",
                "OriginRequestPolicyList",
                "OriginRequestPolicy",
                "OriginRequestPolicyConfig",
            )
        )
        out: dict[str, str] = {}
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Type": "managed", **({"Marker": marker} if marker else {})}
            listing = getattr(self._cf, operation)(**kwargs)[list_key]
            for summary in listing.get("Items") or []:
                policy = summary[item_key]
                out[str(policy["Id"])] = str(policy[config_key]["Name"])
            marker = listing.get("NextMarker")
            if not marker:
                return out


def _document_name(selector: DistributionSelector, distribution_id: str) -> str:
    base = selector.comment or distribution_id.lower()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-_.")[:253]
    return slug or distribution_id.lower()
