"""Distribution wiring: which function runs at which event of a cache behaviour, and with
which cache / origin request policy. Pure: desired and observed values in, a plan and a
new DistributionConfig out.

Ownership is narrow on purpose (the rest of a distribution may belong to Terraform or to
a person): for each *declared* behaviour the reconciler owns its FunctionAssociations and
LambdaFunctionAssociations as a whole, and its CachePolicyId / OriginRequestPolicyId only
when declared. Everything else in the config is passed through untouched, and undeclared
behaviours are never read for a change, let alone written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reconciler.core.model import (
    Action,
    Address,
    Change,
    Phase,
    Plan,
    PlanError,
    ResourceKind,
)

DEFAULT_PATH = "default"
FUNCTION_EVENTS = ("viewer-request", "viewer-response")
LAMBDA_EVENTS = ("viewer-request", "viewer-response", "origin-request", "origin-response")
# AWS rejects these next to a CachePolicyId ("... cannot be used when a cache policy is
# associated to the cache behavior"): they are the pre-policy ("legacy") cache settings.
LEGACY_CACHE_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")

# CloudFront references a numbered Lambda version; $LATEST, aliases and bare ARNs are refused.
_LAMBDA_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:[\w-]+:\d+$"
)
# Lambda@Edge functions live in us-east-1 whatever region the rest of the stack uses.
LAMBDA_EDGE_REGION = "us-east-1"
# The body is only offered to request events; CloudFront refuses IncludeBody elsewhere.
BODY_EVENTS = ("viewer-request", "origin-request")
_FUNCTION_ARN = re.compile(r"^arn:aws[a-z-]*:cloudfront::\d{12}:function/[\w-]+$")


class LambdaAssociation(NamedTuple):
    """A Lambda@Edge association: a numbered version ARN and whether the body is exposed.
    A NamedTuple so that a plain ``(arn, include_body)`` tuple compares equal."""

    arn: str
    include_body: bool = False


# --------------------------------------------------------------------------- desired


@dataclass(frozen=True)
class DistributionSelector:
    """How a Distribution document names its distribution: exactly one of the three."""

    id: str | None = None
    alias: str | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.id, self.alias, self.comment) if v is not None]
        if len(given) != 1:
            raise ValueError("a distribution selector needs exactly one of id, alias, comment")

    def describe(self) -> str:
        if self.id is not None:
            return f"id {self.id}"
        if self.alias is not None:
            return f"alias {self.alias}"
        return f"comment {self.comment!r}"


@dataclass(frozen=True)
class DesiredBehavior:
    """One declared cache behaviour. The association maps are the whole declared set (an
    empty map removes every association); a policy id of None means "not declared: leave
    as is". Names are already resolved to ids and ARNs by the adapter."""

    path: str  # DEFAULT_PATH or a PathPattern, matched exactly
    function_associations: Mapping[str, str] = field(default_factory=dict)  # event -> LIVE ARN
    lambda_associations: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    cache_policy_id: str | None = None
    origin_request_policy_id: str | None = None


@dataclass(frozen=True)
class DesiredDistribution:
    name: str  # metadata.name of the Distribution document: the address container
    selector: DistributionSelector
    behaviors: Sequence[DesiredBehavior]


@dataclass(frozen=True)
class BehaviorRefs:
    """A declared behaviour as the route files name things (function and policy names),
    before the adapter resolves them to ARNs and ids (DistributionAdapter.resolve)."""

    path: str
    functions: Mapping[str, str] = field(default_factory=dict)  # event -> CloudFront Function
    lambdas: Mapping[str, tuple[str, bool]] = field(default_factory=dict)  # event -> (name, body)
    cache_policy: str | None = None  # managed name (with or without "Managed-"), name or id
    origin_request_policy: str | None = None


# -------------------------------------------------------------------------- observed


@dataclass(frozen=True)
class ObservedBehavior:
    """The owned fields of one live cache behaviour, normalised (moto and AWS differ in how
    they spell "none": absent, empty string, Quantity 0 without Items)."""

    path: str
    function_associations: Mapping[str, str]
    lambda_associations: Mapping[str, LambdaAssociation]
    cache_policy_id: str | None
    origin_request_policy_id: str | None
    has_legacy_cache_settings: bool


@dataclass(frozen=True)
class ObservedDistribution:
    name: str
    id: str
    etag: str
    status: str  # "Deployed" | "InProgress"
    behaviors: Mapping[str, ObservedBehavior]  # by path, in config order
    config: Mapping[str, Any]  # the whole DistributionConfig as read; apply_wiring's input


def observe_config(
    name: str, distribution_id: str, etag: str, status: str, config: Mapping[str, Any]
) -> ObservedDistribution:
    behaviors = {path: _observed_behavior(path, raw) for path, raw in _behaviours(config)}
    return ObservedDistribution(name, distribution_id, etag, status, behaviors, config)


def _observed_behavior(path: str, raw: Mapping[str, Any]) -> ObservedBehavior:
    functions = {
        str(i["EventType"]): str(i["FunctionARN"]) for i in _items(raw.get("FunctionAssociations"))
    }
    lambdas = {
        str(i["EventType"]): LambdaAssociation(
            str(i["LambdaFunctionARN"]), bool(i.get("IncludeBody", False))
        )
        for i in _items(raw.get("LambdaFunctionAssociations"))
    }
    return ObservedBehavior(
        path=path,
        function_associations=functions,
        lambda_associations=lambdas,
        cache_policy_id=raw.get("CachePolicyId") or None,
        origin_request_policy_id=raw.get("OriginRequestPolicyId") or None,
        has_legacy_cache_settings=any(f in raw for f in LEGACY_CACHE_FIELDS),
    )


def _items(block: Any) -> list[Mapping[str, Any]]:
    if not block:
        return []
    return list(block.get("Items") or [])


def _behaviours(config: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield DEFAULT_PATH, config.get("DefaultCacheBehavior") or {}
    for item in _items(config.get("CacheBehaviors")):
        yield str(item["PathPattern"]), item


# ------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class WiringPlan:
    distribution: str
    distribution_id: str
    etag: str  # the ETag the plan was computed against: UpdateDistribution's IfMatch
    changes: tuple[Change, ...]
    errors: tuple[PlanError, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def applicable(self) -> bool:
        return not self.errors

    def to_plan(self) -> Plan:
        """The same changes as a core Plan, for merging into a reconcile pass's plan."""
        return Plan(
            changes=self.changes,
            observed_versions=((f"distribution:{self.distribution}", self.etag),),
            errors=self.errors,
        )


def plan_wiring(desired: DesiredDistribution, observed: ObservedDistribution) -> WiringPlan:
    changes: list[Change] = []
    errors: list[PlanError] = list(_duplicate_paths(desired))
    for behavior in desired.behaviors:
        address = Address(ResourceKind.DISTRIBUTION_BEHAVIOR, desired.name, behavior.path)
        seen = observed.behaviors.get(behavior.path)
        if seen is None:
            errors.append(
                PlanError(address, _missing_path_message(desired, observed, behavior.path))
            )
            continue
        problems = _validate(behavior, seen)
        if problems:
            errors += [PlanError(address, f"{address}: {p}") for p in problems]
            continue
        change = _change(address, behavior, seen)
        if change is not None:
            changes.append(change)
    return WiringPlan(
        distribution=desired.name,
        distribution_id=observed.id,
        etag=observed.etag,
        changes=tuple(sorted(changes, key=lambda c: c.address)),
        errors=tuple(errors),
    )


def _duplicate_paths(desired: DesiredDistribution) -> Iterator[PlanError]:
    seen: set[str] = set()
    for behavior in desired.behaviors:
        if behavior.path in seen:
            address = Address(ResourceKind.DISTRIBUTION_BEHAVIOR, desired.name, behavior.path)
            yield PlanError(address, f"{address}: path declared more than once")
        seen.add(behavior.path)


def _missing_path_message(
    desired: DesiredDistribution, observed: ObservedDistribution, path: str
) -> str:
    existing = ", ".join(repr(p) for p in observed.behaviors)
    hint = ""
    twin = path[1:] if path.startswith("/") else "/" + path
    if twin in observed.behaviors:
        hint = f" (did you mean {twin!r}? path patterns are matched exactly)"
    return (
        f"distribution {desired.name} ({observed.id}) has no cache behaviour with path "
        f"{path!r}{hint}; existing paths: {existing}. The reconciler does not create "
        "behaviours or origins: add the behaviour where the distribution is managed"
    )


def _validate(behavior: DesiredBehavior, seen: ObservedBehavior) -> list[str]:
    """What CloudFront would reject, found before anything is sent."""
    problems: list[str] = []
    for event, arn in sorted(behavior.function_associations.items()):
        if event not in FUNCTION_EVENTS:
            problems.append(
                f"a CloudFront Function cannot run at {event!r} (only {', '.join(FUNCTION_EVENTS)})"
            )
        if not _FUNCTION_ARN.match(arn):
            problems.append(f"{arn!r} is not a CloudFront Function ARN")
    for event, (arn, include_body) in sorted(behavior.lambda_associations.items()):
        if event not in LAMBDA_EVENTS:
            problems.append(f"a Lambda@Edge function cannot run at {event!r}")
        elif include_body and event not in BODY_EVENTS:
            problems.append(
                f"includeBody is only possible at {' and '.join(BODY_EVENTS)}, not {event}"
            )
        match = _LAMBDA_VERSION_ARN.match(arn)
        if match is None:
            problems.append(
                f"{arn!r} is not a numbered Lambda version ARN (CloudFront refuses $LATEST, "
                "aliases and unqualified ARNs)"
            )
        elif match.group("region") != LAMBDA_EDGE_REGION:
            problems.append(f"{arn!r}: Lambda@Edge functions must be in {LAMBDA_EDGE_REGION}")
    for event in sorted(set(behavior.function_associations) & set(behavior.lambda_associations)):
        problems.append(
            f"both a CloudFront Function and a Lambda@Edge function are declared at {event}; "
            "CloudFront allows only one of the two per viewer event"
        )
    if behavior.origin_request_policy_id is not None:
        cache_policy = behavior.cache_policy_id or seen.cache_policy_id
        if cache_policy is None:
            problems.append(
                "an origin request policy needs a cache policy on the same behaviour, and "
                "none is declared or attached (it uses legacy cache settings)"
            )
    return problems


def _owned(behavior: DesiredBehavior | ObservedBehavior) -> dict[str, Any]:
    """The owned fields in plain, JSON-able form: what before/after of a Change hold."""
    return {
        "functionAssociations": dict(sorted(behavior.function_associations.items())),
        "lambdaAssociations": {
            event: {"arn": arn, "includeBody": include_body}
            for event, (arn, include_body) in sorted(behavior.lambda_associations.items())
        },
        "cachePolicyId": behavior.cache_policy_id,
        "originRequestPolicyId": behavior.origin_request_policy_id,
    }


def _declared(behavior: DesiredBehavior) -> dict[str, Any]:
    """The desired owned fields, without the undeclared (None) policies."""
    return {k: v for k, v in _owned(behavior).items() if v is not None}


def _change(address: Address, behavior: DesiredBehavior, seen: ObservedBehavior) -> Change | None:
    before_all = _owned(seen)
    after = _declared(behavior)
    differing = sorted(k for k, v in after.items() if before_all[k] != v)
    if not differing:
        return None
    return Change(
        address,
        Action.UPDATE,
        Phase.WIRING,
        before={k: before_all[k] for k in differing},
        after={k: after[k] for k in differing},
        reason=", ".join(differing) + " differ" + ("s" if len(differing) == 1 else ""),
    )


# ----------------------------------------------------------------------------- apply


def apply_wiring(config: Mapping[str, Any], desired: DesiredDistribution) -> dict[str, Any]:
    """A new DistributionConfig (boto3 shape) with the declared wiring and nothing else
    changed. A field of a declared behaviour is rewritten only when its value differs, so
    applying to an already wired config returns an equal config.

    Raises ValueError for a declared path the config lacks: plan_wiring reports that as a
    plan error, and nothing is applied while a plan has errors.
    """
    new = copy.deepcopy(dict(config))
    by_path = dict(_behaviours(new))
    for behavior in desired.behaviors:
        raw = by_path.get(behavior.path)
        if raw is None:
            raise ValueError(
                f"distribution {desired.name} has no cache behaviour {behavior.path!r}"
            )
        assert isinstance(raw, dict)  # deep-copied above, so mutable
        _apply_behavior(raw, behavior)
    return new


def _apply_behavior(raw: dict[str, Any], behavior: DesiredBehavior) -> None:
    seen = _observed_behavior(behavior.path, raw)
    if dict(seen.function_associations) != dict(behavior.function_associations):
        raw["FunctionAssociations"] = _block(
            {"FunctionARN": arn, "EventType": event}
            for event, arn in sorted(behavior.function_associations.items())
        )
    wanted_lambdas = {e: LambdaAssociation(*a) for e, a in behavior.lambda_associations.items()}
    if dict(seen.lambda_associations) != wanted_lambdas:
        raw["LambdaFunctionAssociations"] = _block(
            {"LambdaFunctionARN": a.arn, "EventType": event, "IncludeBody": a.include_body}
            for event, a in sorted(wanted_lambdas.items())
        )
    if behavior.cache_policy_id is not None and behavior.cache_policy_id != seen.cache_policy_id:
        raw["CachePolicyId"] = behavior.cache_policy_id
        for legacy in LEGACY_CACHE_FIELDS:
            raw.pop(legacy, None)
    if (
        behavior.origin_request_policy_id is not None
        and behavior.origin_request_policy_id != seen.origin_request_policy_id
    ):
        raw["OriginRequestPolicyId"] = behavior.origin_request_policy_id


def _block(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    listed = list(items)
    # AWS omits Items when Quantity is 0; sending an empty list is accepted too, but the
    # omitted form is what a read returns, which keeps read-modify-write diffs quiet.
    return {"Quantity": len(listed), "Items": listed} if listed else {"Quantity": 0}
