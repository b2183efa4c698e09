"""Desired state + one Observation -> the Plan, and what apply needs to carry it out.

Pure: no AWS call, no clock. Every name in the route files is resolved here from the
observation (a CloudFront Function's LIVE ARN, the Lambda version the wiring will use,
policy ids), so the plan shows exactly what apply writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.core.diff import plan_data
from reconciler.core.function_versions import observed_versions
from reconciler.core.functions import (
    DesiredCloudFrontFunction,
    DesiredFunctions,
    matching_version,
    plan_functions,
)
from reconciler.core.model import Action, Address, Change, Phase, Plan, PlanError, ResourceKind
from reconciler.core.policies import PolicyCatalog, UnknownPolicy
from reconciler.core.wiring import (
    LAMBDA_EDGE_REGION,
    DesiredBehavior,
    DesiredDistribution,
    plan_wiring,
)
from reconciler.engine.desired import DesiredState, DistributionRefs
from reconciler.engine.observation import Observation


def pending_store_arn(store: str) -> str:
    """Shown where a function will point at a store this very pass creates."""
    return f"(store {store}, created by this pass)"


@dataclass(frozen=True)
class Planned:
    """A plan plus everything it was made from: apply reads nothing twice."""

    plan: Plan
    desired: DesiredState
    observation: Observation
    functions: DesiredFunctions  # with store ARNs resolved (or pending_store_arn)
    wiring: Mapping[str, DesiredDistribution] = field(default_factory=dict)
    # Lambda versions the wiring uses: a version published by this pass is predicted
    # here (the next number) and replaced by the ARN PublishVersion returns.
    lambda_arns: Mapping[str, str] = field(default_factory=dict)
    cloudfront_arns: Mapping[str, str] = field(default_factory=dict)

    @property
    def publishing_lambdas(self) -> frozenset[str]:
        return frozenset(
            c.address.container
            for c in self.plan.changes
            if c.action is Action.PUBLISH and c.address.kind is ResourceKind.LAMBDA_FUNCTION
        )


def make_plan(desired: DesiredState, seen: Observation) -> Planned:
    data_plan = plan_data(desired.data, seen.data, desired.digest)
    errors = list(data_plan.errors)
    versions = list(data_plan.observed_versions)

    functions = _with_store_arns(desired, seen)
    fn_changes = plan_functions(functions, seen.functions)
    versions += observed_versions(seen.functions)
    cf_arns, lambda_arns = _planned_arns(functions, seen, fn_changes)

    wiring: dict[str, DesiredDistribution] = {}
    wiring_changes: list[Change] = []
    for ref in desired.distributions:
        address = Address(ResourceKind.DISTRIBUTION_BEHAVIOR, ref.name)
        if ref.name in seen.distribution_errors:
            errors.append(PlanError(address, seen.distribution_errors[ref.name]))
            continue
        observed = seen.distributions[ref.name]
        versions.append((f"distribution:{ref.name}", observed.etag))
        try:
            wanted = _resolve(ref, cf_arns, lambda_arns, seen)
        except (UnknownPolicy, KeyError) as exc:
            errors.append(PlanError(address, f"distribution {ref.name}: {_message(exc)}"))
            continue
        wiring_plan = plan_wiring(wanted, observed)
        wiring[ref.name] = wanted
        wiring_changes += [_named(c, seen) for c in wiring_plan.changes]
        errors += wiring_plan.errors

    # A stable sort by phase keeps each planner's own order inside a phase (a function's
    # update before its publish).
    changes = sorted([*data_plan.changes, *fn_changes, *wiring_changes], key=lambda c: c.phase)
    plan = Plan(
        changes=tuple(changes),
        observed_versions=tuple(versions),
        violations=data_plan.violations,
        guard_decisions=data_plan.guard_decisions,
        errors=tuple(errors),
        desired_digest=desired.digest,
    )
    return Planned(plan, desired, seen, functions, wiring, lambda_arns, cf_arns)


def _with_store_arns(desired: DesiredState, seen: Observation) -> DesiredFunctions:
    arns = seen.store_arns
    cloudfront: list[DesiredCloudFrontFunction] = []
    for fn in desired.functions.cloudfront:
        store = desired.sources.stores.get(fn.name)
        arn = None if store is None else arns.get(store, pending_store_arn(store))
        cloudfront.append(replace(fn, kvs_arn=arn))
    return replace(desired.functions, cloudfront=tuple(cloudfront))


def _planned_arns(
    functions: DesiredFunctions, seen: Observation, changes: tuple[Change, ...]
) -> tuple[dict[str, str], dict[str, str]]:
    """The ARNs the wiring will use once the functions phase has run.

    A CloudFront Function's ARN does not depend on its stage. A new Lambda version gets
    the next number as far as the observation shows (Lambda never reuses one; the wiring
    phase uses the ARN PublishVersion really returned).
    """
    publishing = {
        c.address.container
        for c in changes
        if c.action is Action.PUBLISH and c.address.kind is ResourceKind.LAMBDA_FUNCTION
    }
    cf_arns: dict[str, str] = {}
    for fn in functions.cloudfront:
        found = seen.functions.cloudfront.get(fn.name)
        cf_arns[fn.name] = (found.arn if found and found.arn else None) or (
            f"arn:aws:cloudfront::{seen.account_id}:function/{fn.name}"
        )
    lambda_arns: dict[str, str] = {}
    for lam in functions.lambdas:
        found_l = seen.functions.lambdas[lam.name]
        if lam.name in publishing:
            base = found_l.arn or (
                f"arn:aws:lambda:{LAMBDA_EDGE_REGION}:{seen.account_id}:function:{lam.name}"
            )
            number = max((v.number for v in found_l.versions), default=0) + 1
            lambda_arns[lam.name] = f"{base}:{number}"
        else:
            version = matching_version(lam, found_l)
            if version is not None:
                lambda_arns[lam.name] = version.arn
    return cf_arns, lambda_arns


def _resolve(
    ref: DistributionRefs,
    cf_arns: Mapping[str, str],
    lambda_arns: Mapping[str, str],
    seen: Observation,
) -> DesiredDistribution:
    behaviors = []
    for refs in ref.behaviors:
        behaviors.append(
            DesiredBehavior(
                path=refs.path,
                function_associations={e: cf_arns[f] for e, f in refs.functions.items()},
                lambda_associations={
                    e: (lambda_arns[f], body) for e, (f, body) in refs.lambdas.items()
                },
                cache_policy_id=None
                if refs.cache_policy is None
                else seen.cache_policies.resolve(refs.cache_policy),
                origin_request_policy_id=None
                if refs.origin_request_policy is None
                else seen.origin_request_policies.resolve(refs.origin_request_policy),
            )
        )
    return DesiredDistribution(ref.name, ref.selector, tuple(behaviors))


def _message(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"function {exc.args[0]!r} has no published version to associate"
    return str(exc)


_POLICY_FIELDS = {
    "cachePolicyId": ("cachePolicy", "cache_policies"),
    "originRequestPolicyId": ("originRequestPolicy", "origin_request_policies"),
}


def _named(change: Change, seen: Observation) -> Change:
    """Wiring changes show policy names, not UUIDs (apply writes from the resolved
    DesiredDistribution, not from these display values)."""

    def shown(values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key in _POLICY_FIELDS:
                label, catalog_attr = _POLICY_FIELDS[key]
                catalog: PolicyCatalog = getattr(seen, catalog_attr)
                out[label] = catalog.name_of(value)
            else:
                out[key] = value
        return out

    if change.phase is not Phase.WIRING:
        return change
    reason = change.reason.replace("cachePolicyId", "cachePolicy").replace(
        "originRequestPolicyId", "originRequestPolicy"
    )
    return replace(change, before=shown(change.before), after=shown(change.after), reason=reason)
