"""Distribution wiring adapter: find a distribution, resolve names to ARNs and policy ids,
and write the declared wiring with UpdateDistribution under IfMatch.

UpdateDistribution replaces the whole DistributionConfig, so every write is a
read-modify-write: read config + ETag, let the pure core change only the owned fields,
send it back with IfMatch. A 412 means someone wrote in between (a person, Terraform, or
our own PublishFunction, which re-deploys the distribution and rotates its ETag): re-read,
re-plan and try again a bounded number of times. Nothing is written when nothing drifted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, error_code
from reconciler.core.wiring import (
    LAMBDA_EDGE_REGION,
    BehaviorRefs,
    DesiredBehavior,
    DesiredDistribution,
    DistributionSelector,
    ObservedDistribution,
    WiringPlan,
    apply_wiring,
    observe_config,
    plan_wiring,
)

DEFAULT_CONFLICT_RETRIES = 3

# (distribution id, the ETag about to be sent as IfMatch): called right before each
# UpdateDistribution. A seam for tests that need a concurrent writer at that instant.
BeforeWrite = Callable[[str, str], None]
# (status, seconds waited so far)
DeployProgress = Callable[[str, float], None]

_NOT_FOUND = frozenset({"NoSuchDistribution", "NoSuchFunctionExists", "ResourceNotFoundException"})
_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+:\d+$")


class WiringError(ReconcileError):
    """Retrying cannot help: the declaration does not match what exists."""

    def __init__(self, message: str, code: str = "WiringError") -> None:
        super().__init__(message, ErrorClass.FATAL, code)


@dataclass(frozen=True)
class WiringResult:
    distribution: str
    distribution_id: str
    plan: WiringPlan  # the plan that was written (empty: nothing drifted, nothing sent)
    update_calls: int  # UpdateDistribution calls sent, rejected ones included
    conflicts: int  # of which rejected with 412 and re-planned
    etag: str  # the distribution's ETag after the pass


@dataclass(frozen=True)
class _Policies:
    ids: frozenset[str]
    by_name: Mapping[str, str]


class DistributionAdapter:
    def __init__(self, target: AwsTarget, *, before_write: BeforeWrite | None = None) -> None:
        self._target = target
        self._cf = make_client("cloudfront", target)
        self._lambda: Any = None
        self._before_write = before_write
        self._cache_policies: _Policies | None = None
        self._origin_request_policies: _Policies | None = None

    @property
    def client(self) -> Any:
        """The CloudFront client all distribution calls go through (for call counting)."""
        return self._cf

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
            resp = self._cf.get_distribution(Id=distribution_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchDistribution":
                raise WiringError(
                    f"distribution {name}: no distribution with id {distribution_id}",
                    "DistributionNotFound",
                ) from exc
            raise
        dist = resp["Distribution"]
        return observe_config(
            name,
            distribution_id,
            str(resp["ETag"]),
            str(dist["Status"]),
            dist["DistributionConfig"],
        )

    def observe(self, desired: DesiredDistribution) -> ObservedDistribution:
        return self.read(desired.name, self.find(desired.selector))

    def _summaries(self) -> Iterator[Mapping[str, Any]]:
        for page in self._cf.get_paginator("list_distributions").paginate():
            yield from page.get("DistributionList", {}).get("Items") or []

    # ------------------------------------------------------------------ resolve

    def resolve(
        self,
        name: str,
        selector: DistributionSelector,
        behaviors: Sequence[BehaviorRefs],
        lambda_versions: Mapping[str, str] | None = None,
        function_arns: Mapping[str, str] | None = None,
    ) -> DesiredDistribution:
        """Route-file names -> ARNs and ids. `lambda_versions` maps a Lambda function name
        to the version ARN just published this pass; others get their latest version.
        `function_arns` gives CloudFront Function ARNs already known (a plan made before
        the function's first publish uses the ARN it will have)."""
        versions = dict(lambda_versions or {})
        known = dict(function_arns or {})
        resolved = []
        for refs in behaviors:
            lambdas: dict[str, tuple[str, bool]] = {}
            for event, (function, include_body) in refs.lambdas.items():
                lambdas[event] = (
                    self.lambda_version_arn(function, versions.get(function)),
                    include_body,
                )
            resolved.append(
                DesiredBehavior(
                    path=refs.path,
                    function_associations={
                        e: known[f] if f in known else self.function_arn(f)
                        for e, f in refs.functions.items()
                    },
                    lambda_associations=lambdas,
                    cache_policy_id=_maybe(self.cache_policy_id, refs.cache_policy),
                    origin_request_policy_id=_maybe(
                        self.origin_request_policy_id, refs.origin_request_policy
                    ),
                )
            )
        return DesiredDistribution(name, selector, tuple(resolved))

    def function_arn(self, name: str) -> str:
        """The ARN of a CloudFront Function's LIVE stage: only LIVE can be associated."""
        try:
            resp = self._cf.describe_function(Name=name, Stage="LIVE")
        except ClientError as exc:
            if error_code(exc) not in _NOT_FOUND:
                raise
            if self._function_exists(name):
                raise WiringError(
                    f"function {name} has never been published (no LIVE stage); publish it "
                    "before a distribution can use it",
                    "FunctionNotPublished",
                ) from exc
            raise WiringError(
                f"CloudFront Function {name} does not exist", "FunctionNotFound"
            ) from exc
        return str(resp["FunctionSummary"]["FunctionMetadata"]["FunctionARN"])

    def _function_exists(self, name: str) -> bool:
        try:
            self._cf.describe_function(Name=name, Stage="DEVELOPMENT")
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return False
            raise
        return True

    def lambda_version_arn(self, function: str, version: str | None = None) -> str:
        """A numbered version ARN for a Lambda@Edge function (never $LATEST): `version`
        (a number or a version ARN, e.g. the one just published), else the highest
        published version."""
        if version is not None and _VERSION_ARN.match(version):
            # A version ARN handed over under the wrong name would wire another function.
            if version.split(":")[6] != function.split(":")[-1]:
                raise WiringError(
                    f"Lambda@Edge {function}: version ARN {version} belongs to another function",
                    "InvalidLambdaVersion",
                )
            return version
        if version is not None:
            if not version.isdigit():
                raise WiringError(
                    f"Lambda@Edge {function}: {version!r} is not a version number "
                    "(CloudFront takes numbered versions only, never $LATEST or an alias)",
                    "InvalidLambdaVersion",
                )
            return self._qualified_arn(function, version)
        return self._latest_version_arn(function)

    def _qualified_arn(self, function: str, version: str) -> str:
        try:
            resp = self._lambda_client().get_function_configuration(
                FunctionName=function, Qualifier=version
            )
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                raise WiringError(
                    f"Lambda@Edge {function} has no version {version}", "LambdaVersionNotFound"
                ) from exc
            raise
        return str(resp["FunctionArn"])

    def _latest_version_arn(self, function: str) -> str:
        listed: list[tuple[str, str]] = []
        try:
            pages = self._lambda_client().get_paginator("list_versions_by_function")
            for page in pages.paginate(FunctionName=function):
                listed += [
                    (str(v["Version"]), str(v["FunctionArn"])) for v in page.get("Versions", [])
                ]
        except ClientError as exc:
            if error_code(exc) not in _NOT_FOUND:
                raise
            listed = []
        # AWS lists $LATEST for every existing function (and raises for a missing one;
        # moto lists nothing instead): an empty listing means there is no such function.
        if not listed:
            raise WiringError(
                f"Lambda@Edge function {function} does not exist in {LAMBDA_EDGE_REGION}",
                "LambdaNotFound",
            )
        numbered = [(int(version), arn) for version, arn in listed if version.isdigit()]
        if not numbered:
            raise WiringError(
                f"Lambda@Edge {function} has no published version (only $LATEST); "
                "publish a version before a distribution can use it",
                "LambdaNotPublished",
            )
        return max(numbered)[1]

    def _lambda_client(self) -> Any:
        if self._lambda is None:
            self._lambda = make_client("lambda", self._target, LAMBDA_EDGE_REGION)
        return self._lambda

    def cache_policy_id(self, ref: str) -> str:
        if self._cache_policies is None:
            self._cache_policies = self._list_policies(
                "list_cache_policies", "CachePolicyList", "CachePolicy", "CachePolicyConfig"
            )
        return _pick(self._cache_policies, ref, "cache policy")

    def origin_request_policy_id(self, ref: str) -> str:
        if self._origin_request_policies is None:
            self._origin_request_policies = self._list_policies(
                "list_origin_request_policies",
                "OriginRequestPolicyList",
                "OriginRequestPolicy",
                "OriginRequestPolicyConfig",
            )
        return _pick(self._origin_request_policies, ref, "origin request policy")

    def _list_policies(
        self, operation: str, list_key: str, item_key: str, config_key: str
    ) -> _Policies:
        ids: set[str] = set()
        by_name: dict[str, str] = {}
        # Managed first: a custom policy that reuses a managed name does not shadow it.
        for policy_type in ("managed", "custom"):
            marker: str | None = None
            while True:
                kwargs: dict[str, Any] = {"Type": policy_type}
                if marker:
                    kwargs["Marker"] = marker
                listing = getattr(self._cf, operation)(**kwargs)[list_key]
                for summary in listing.get("Items") or []:
                    policy = summary[item_key]
                    ids.add(str(policy["Id"]))
                    by_name.setdefault(str(policy[config_key]["Name"]), str(policy["Id"]))
                marker = listing.get("NextMarker")
                if not marker:
                    break
        return _Policies(frozenset(ids), by_name)

    # -------------------------------------------------------------- plan, apply

    def plan(self, desired: DesiredDistribution) -> WiringPlan:
        return plan_wiring(desired, self.observe(desired))

    def apply(
        self,
        desired: DesiredDistribution,
        *,
        expected: WiringPlan | None = None,
        max_conflict_retries: int = DEFAULT_CONFLICT_RETRIES,
    ) -> WiringResult:
        """Read, plan, write under IfMatch; on 412 re-read and re-plan, at most
        `max_conflict_retries` times. With `expected` (a plan shown earlier), nothing is
        written unless the fresh plan makes the same changes."""
        distribution_id = self.find(desired.selector)
        calls = conflicts = 0
        while True:
            observed = self.read(desired.name, distribution_id)
            plan = plan_wiring(desired, observed)
            _refuse(plan, expected if calls == 0 else None)
            if plan.empty:
                return WiringResult(
                    desired.name, distribution_id, plan, calls, conflicts, plan.etag
                )
            config = apply_wiring(observed.config, desired)
            if self._before_write is not None:
                self._before_write(distribution_id, plan.etag)
            calls += 1
            try:
                resp = self._cf.update_distribution(
                    Id=distribution_id, IfMatch=plan.etag, DistributionConfig=config
                )
            except ClientError as exc:
                if error_code(exc) != "PreconditionFailed":
                    raise
                conflicts += 1
                if conflicts > max_conflict_retries:
                    raise ConflictError(
                        f"distribution {desired.name} ({distribution_id}) changed under every one "
                        f"of {calls} writes (412 PreconditionFailed); giving up this pass",
                        "PreconditionFailed",
                    ) from exc
                continue
            return WiringResult(
                desired.name, distribution_id, plan, calls, conflicts, str(resp["ETag"])
            )

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
                last = exc.last_response or {}
                if "Error" in last:
                    raise
                status = str(last.get("Distribution", {}).get("Status", "unknown"))
                if on_progress is not None:
                    on_progress(status, elapsed)
                if elapsed + delay > timeout:
                    raise ReconcileError(
                        f"distribution {distribution_id} still {status} after {elapsed:.0f}s",
                        ErrorClass.RETRYABLE,
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


def _pick(policies: _Policies, ref: str, kind: str) -> str:
    if ref in policies.ids:
        return ref
    for name in (ref, f"Managed-{ref}"):
        if name in policies.by_name:
            return policies.by_name[name]
    known = ", ".join(sorted(policies.by_name))
    raise WiringError(f"no {kind} named or with id {ref!r}; known: {known}", "PolicyNotFound")


def _maybe(resolve: Callable[[str], str], ref: str | None) -> str | None:
    return None if ref is None else resolve(ref)


def _refuse(plan: WiringPlan, expected: WiringPlan | None) -> None:
    if not plan.applicable:
        raise WiringError(
            "; ".join(e.message for e in plan.errors) + "; nothing applied", "PlanNotApplicable"
        )
    if expected is not None and expected.changes != plan.changes:
        raise ConflictError(
            f"distribution {plan.distribution} changed since the plan was made; re-plan",
            "StalePlan",
        )
