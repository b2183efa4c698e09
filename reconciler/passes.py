"""A whole reconcile pass: route files -> observe every kind -> one plan -> apply in phases.

The plan is one value covering data, functions and wiring, rendered the same way for
`plan`, dry-run and the daemon's status. Apply runs the phases in the order the design
fixes (stores and tables, data, functions tested and published, wiring, prunes, version
clean-up), stops at the first failure and reports what landed before it. A stale ETag on
the data re-reads and re-plans the whole pass a bounded number of times.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from reconciler import reconcile
from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.cloudfront_functions import CloudFrontFunctionsAdapter, FunctionTests
from reconciler.aws.distributions import DistributionAdapter, WiringError
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, classify, describe
from reconciler.aws.lambda_edge import EDGE_REGION, LambdaEdgeAdapter
from reconciler.core.diff import plan_data
from reconciler.core.functions import (
    ObservedFunctions,
    matching_version,
    observed_versions,
    plan_functions,
)
from reconciler.core.model import (
    Action,
    Address,
    Change,
    Phase,
    Plan,
    PlanError,
    ResourceKind,
)
from reconciler.core.render import summary
from reconciler.core.schedule import split_schedule
from reconciler.core.state import DesiredData
from reconciler.core.wiring import ObservedDistribution, plan_wiring
from reconciler.desired import (
    DistributionRefs,
    FunctionSources,
    desired_data,
    distribution_refs,
    function_sources,
    with_store_arns,
)
from reconciler.executor import ApplyResult, DataExecutor, log_applied
from reconciler.pass_report import Outcome, PassReport
from reconciler.routes import RouteSet, RouteSetInvalid, load_route_set

log = structlog.get_logger("reconciler.pass")

MAX_CONFLICT_REPLANS = 3


@dataclass
class Planned:
    """A plan plus everything observed to make it, so apply need not read twice."""

    route_set: RouteSet
    plan: Plan
    data: DesiredData
    store_arns: dict[str, str]
    functions: FunctionSources
    observed_functions: ObservedFunctions
    distributions: tuple[DistributionRefs, ...]
    # The ARNs the plan's wiring was computed with (see _planned_arns).
    cloudfront_arns: dict[str, str] = field(default_factory=dict)
    lambda_arns: dict[str, str] = field(default_factory=dict)


@dataclass
class ApplyProgress:
    data: ApplyResult = field(default_factory=ApplyResult)
    other: list[Change] = field(default_factory=list)
    write_calls: int = 0

    @property
    def applied(self) -> tuple[Change, ...]:
        return tuple(self.data.applied) + tuple(self.other)

    @property
    def calls(self) -> int:
        return self.data.write_calls + self.write_calls


class Reconciler:
    def __init__(
        self,
        routes_dir: Path,
        root: Path | None,
        target: AwsTarget,
        *,
        allow_mass_delete: bool = False,
        max_compute_utilization: int | None = None,
        on_step: Callable[[int, int], None] | None = None,
    ) -> None:
        self.routes_dir = routes_dir
        self.root = root
        self.allow_mass_delete = allow_mass_delete
        self.max_compute_utilization = max_compute_utilization
        self.on_step = on_step
        self._target = target
        self.data = reconcile.Adapters.for_target(target)
        self.cloudfront_functions = CloudFrontFunctionsAdapter(target)
        self.lambdas = LambdaEdgeAdapter(target, region=EDGE_REGION)
        self.distributions = DistributionAdapter(target)
        self._account: str | None = None

    # -- plan ---------------------------------------------------------------------------

    def load(self) -> RouteSet:
        return load_route_set(self.routes_dir, self.root)

    def plan(self, route_set: RouteSet | None = None) -> Planned:
        rs = route_set or self.load()
        data = desired_data(rs, self.allow_mass_delete)
        seen = reconcile.observe(data, self.data)
        data_plan = plan_data(data, seen.observed, rs.content_hash)
        errors = list(data_plan.errors)
        versions = list(data_plan.observed_versions)

        refs = distribution_refs(rs)
        observed_dists: dict[str, ObservedDistribution] = {}
        for ref in refs:
            try:
                observed_dists[ref.name] = self.distributions.read(
                    ref.name, self.distributions.find(ref.selector)
                )
            except WiringError as exc:
                errors.append(PlanError(Address(ResourceKind.DISTRIBUTION_BEHAVIOR, ref.name), str(exc)))
        associated = frozenset(
            assoc[0]
            for dist in observed_dists.values()
            for behavior in dist.behaviors.values()
            for assoc in behavior.lambda_associations.values()
        )

        sources = function_sources(rs, seen.store_arns)
        observed_fns = self._observe_functions(sources, associated)
        fn_changes = plan_functions(sources.desired, observed_fns)
        versions += observed_versions(observed_fns)

        wiring_changes: list[Change] = []
        cf_arns, lambda_arns = self._planned_arns(sources, observed_fns, fn_changes)
        for ref in refs:
            if ref.name not in observed_dists:
                continue
            observed = observed_dists[ref.name]
            versions.append((f"distribution:{ref.name}", observed.etag))
            try:
                desired = self.distributions.resolve(
                    ref.name, ref.selector, ref.behaviors, lambda_arns, cf_arns
                )
            except WiringError as exc:
                errors.append(PlanError(Address(ResourceKind.DISTRIBUTION_BEHAVIOR, ref.name), str(exc)))
                continue
            wiring = plan_wiring(desired, observed)
            wiring_changes += wiring.changes
            errors += wiring.errors

        # A stable sort by phase keeps each planner's own order inside a phase (a function's
        # update before its publish).
        changes = sorted([*data_plan.changes, *fn_changes, *wiring_changes], key=lambda c: c.phase)
        plan = Plan(
            changes=tuple(changes),
            observed_versions=tuple(versions),
            violations=data_plan.violations,
            errors=tuple(errors),
            desired_digest=rs.content_hash,
        )
        return Planned(
            rs, plan, data, dict(seen.store_arns), sources, observed_fns, refs, cf_arns, lambda_arns
        )

    def _observe_functions(self, sources: FunctionSources, associated: frozenset[str]) -> ObservedFunctions:
        return ObservedFunctions(
            cloudfront={f.name: self.cloudfront_functions.observe(f.name) for f in sources.desired.cloudfront},
            lambdas={f.name: self.lambdas.observe(f.name) for f in sources.desired.lambdas},
            associated_version_arns=associated,
        )

    def _planned_arns(
        self, sources: FunctionSources, observed: ObservedFunctions, changes: tuple[Change, ...]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The ARNs the wiring will use once the functions phase has run.

        A CloudFront Function's ARN does not depend on its stage; a new Lambda version gets
        the next number (Lambda never reuses one). So the plan shows the wiring apply will
        write, also in the pass that first creates or publishes the function.
        """
        publishing = {
            c.address.container
            for c in changes
            if c.action is Action.PUBLISH and c.address.kind is ResourceKind.LAMBDA_FUNCTION
        }
        cf_arns: dict[str, str] = {}
        for fn in sources.desired.cloudfront:
            seen = observed.cloudfront.get(fn.name)
            cf_arns[fn.name] = (seen.arn if seen and seen.arn else None) or (
                f"arn:aws:cloudfront::{self._account_id()}:function/{fn.name}"
            )
        lambda_arns: dict[str, str] = {}
        for lam in sources.desired.lambdas:
            seen_l = observed.lambdas[lam.name]
            if lam.name in publishing:
                base = seen_l.arn or f"arn:aws:lambda:{EDGE_REGION}:{self._account_id()}:function:{lam.name}"
                number = max((v.number for v in seen_l.versions), default=0) + 1
                lambda_arns[lam.name] = f"{base}:{number}"
            else:
                version = matching_version(lam, seen_l)
                if version is not None:
                    lambda_arns[lam.name] = version.arn
        return cf_arns, lambda_arns

    def _account_id(self) -> str:
        if self._account is None:
            sts = make_client("sts", self._target)
            self._account = str(sts.get_caller_identity()["Account"])
        return self._account

    # -- apply --------------------------------------------------------------------------

    def apply(self, planned: Planned, progress: ApplyProgress) -> None:
        plan = planned.plan
        if not plan.applicable:
            raise ReconcileError("plan is not applicable", ErrorClass.FATAL, "PlanNotApplicable")
        schemas = {t.name: t.key_schema for t in planned.data.tables}
        before, after = split_schedule(plan, schemas)
        executor = DataExecutor(
            self.data.kvs, self.data.ddb, schemas, dict(planned.store_arns), self.on_step
        )
        executor.run(plan, before, progress.data)

        sources, observed, fn_changes = planned.functions, planned.observed_functions, [
            c for c in plan.changes if c.phase in (Phase.FUNCTIONS, Phase.CLEANUP)
        ]
        if executor.store_arns != planned.store_arns:
            # A store created in this pass: its ARN exists only now. The functions that
            # use it are re-planned against a fresh read (level-triggered, not replayed).
            sources = with_store_arns(sources, executor.store_arns)
            observed = self._observe_functions(sources, observed.associated_version_arns)
            fn_changes = list(plan_functions(sources.desired, observed))

        new_versions = self._apply_functions(planned, sources, observed, fn_changes, progress)
        published = {
            c.address.container for c in fn_changes if c.action is Action.PUBLISH and c.address.key is None
        }
        if published or any(c.phase is Phase.WIRING for c in plan.changes):
            self._apply_wiring(planned, new_versions, progress)

        executor.run(plan, after, progress.data)
        for fn in sources.desired.lambdas:
            cleanup = self.lambdas.cleanup(fn.name, fn_changes)
            progress.write_calls += len(cleanup.writes)
            progress.other += [
                c
                for c in fn_changes
                if c.phase is Phase.CLEANUP
                and c.address.container == fn.name
                and c.address.key is not None
                and int(c.address.key) in cleanup.deleted_versions
            ]
            if cleanup.still_replicated:
                log.info("lambda_versions_still_replicated", function=fn.name, versions=cleanup.still_replicated)

    def _apply_functions(
        self,
        planned: Planned,
        sources: FunctionSources,
        observed: ObservedFunctions,
        changes: list[Change],
        progress: ApplyProgress,
    ) -> dict[str, str]:
        """Writes, tests and publishes; returns the Lambda version ARNs the wiring uses."""
        stores = planned.route_set.stores
        for fn in sources.desired.cloudfront:
            mine = [c for c in changes if c.address.kind is ResourceKind.CLOUDFRONT_FUNCTION and c.address.container == fn.name]
            if not mine:
                continue
            store = sources.cloudfront_stores.get(fn.name)
            tests = FunctionTests(
                folder=sources.cloudfront_folders[fn.name],
                kvs_defaults=dict(stores[store].spec.entries) if store else None,
                **(
                    {"max_compute_utilization": self.max_compute_utilization}
                    if self.max_compute_utilization is not None
                    else {}
                ),
            )
            result = self.cloudfront_functions.apply(fn, observed.cloudfront[fn.name], mine, tests)
            progress.write_calls += len(result.writes)
            progress.other += mine
            log.info("function_applied", function=fn.name, writes=result.writes, tests=str(result.tests))
        versions: dict[str, str] = {}
        for lam in sources.desired.lambdas:
            mine = [
                c
                for c in changes
                if c.address.kind is ResourceKind.LAMBDA_FUNCTION
                and c.address.container == lam.name
                and c.phase is Phase.FUNCTIONS
            ]
            if not mine:
                continue
            lresult = self.lambdas.apply(
                lam, observed.lambdas[lam.name], mine, sources.packages[lam.name].zip_bytes
            )
            progress.write_calls += len(lresult.writes)
            progress.other += mine
            if lresult.version_arn:
                versions[lam.name] = lresult.version_arn
            log.info("function_applied", function=lam.name, writes=lresult.writes, version=lresult.version_arn)
        return versions

    def _apply_wiring(
        self, planned: Planned, lambda_versions: Mapping[str, str], progress: ApplyProgress
    ) -> None:
        # A Lambda not published this pass keeps the version the plan chose (e.g. an older
        # one with the declared code after a revert), never simply the newest.
        versions = {**planned.lambda_arns, **lambda_versions}
        for ref in planned.distributions:
            desired = self.distributions.resolve(
                ref.name, ref.selector, ref.behaviors, versions, planned.cloudfront_arns
            )
            result = self.distributions.apply(desired)
            progress.write_calls += result.update_calls
            if result.update_calls:
                progress.other += list(result.plan.changes)
                for change in result.plan.changes:
                    log_applied(change)

    # -- one pass, as the CLI and the daemon run it ---------------------------------------

    def run_pass(
        self,
        dry_run: bool,
        *,
        expected: Plan | None = None,
        confirm: Callable[[Plan], bool] | None = None,
    ) -> PassReport:
        """Plan and (unless dry-run) apply. `expected`: a saved plan the fresh one must
        match (same route files, same observed versions) or nothing is applied. `confirm`:
        asked once with the plan before the first write; False applies nothing."""
        started = time.monotonic()
        progress = ApplyProgress()
        planned: Planned | None = None
        digest = ""
        try:
            route_set = self.load()
            digest = route_set.content_hash
            conflicts = 0
            while True:
                planned = self.plan(route_set)
                plan = planned.plan
                if expected is not None:
                    reconcile.refuse_if_stale(expected, plan)
                    expected = None  # a conflict re-plan is not bound to the saved plan
                if not plan.applicable:
                    problems = [e.message for e in plan.errors] + [v.message for v in plan.violations]
                    return self._report(Outcome.REFUSED, started, plan, progress, digest, problems)
                if plan.empty:
                    return self._report(Outcome.NO_CHANGES, started, plan, progress, digest)
                if dry_run:
                    return self._report(Outcome.PLANNED, started, plan, progress, digest)
                if confirm is not None:
                    if not confirm(plan):
                        return self._report(Outcome.PLANNED, started, plan, progress, digest)
                    confirm = None
                try:
                    self.apply(planned, progress)
                except ConflictError as exc:
                    conflicts += 1
                    log.warning("conflict_replan", reason=str(exc), attempt=conflicts)
                    if conflicts > MAX_CONFLICT_REPLANS:
                        raise
                    continue
                return self._report(Outcome.APPLIED, started, plan, progress, digest)
        except RouteSetInvalid as invalid:
            return self._report(
                Outcome.INVALID, started, None, progress, digest, [e.render() for e in invalid.errors]
            )
        except (ReconcileError, ClientError, BotoCoreError) as exc:
            log.error("pass_failed", error=describe(exc), error_class=classify(exc).value)
            return self._report(
                Outcome.FAILED,
                started,
                planned.plan if planned else None,
                progress,
                digest,
                [describe(exc)],
                classify(exc).value,
            )
        except Exception as exc:  # a bug must not kill the daemon; it is reported as fatal
            log.exception("pass_crashed")
            return self._report(
                Outcome.FAILED,
                started,
                planned.plan if planned else None,
                progress,
                digest,
                [f"internal error: {type(exc).__name__}: {exc}"],
                ErrorClass.FATAL.value,
            )

    def _report(
        self,
        outcome: Outcome,
        started: float,
        plan: Plan | None,
        progress: ApplyProgress,
        digest: str,
        errors: list[str] | None = None,
        error_class: str | None = None,
    ) -> PassReport:
        report = PassReport(
            outcome=outcome,
            plan=plan,
            applied=progress.applied,
            errors=tuple(errors or ()),
            error_class=error_class,
            duration_seconds=time.monotonic() - started,
            write_calls=progress.calls,
            desired_digest=digest,
            extra={"summary": summary(plan)} if plan is not None else {},
        )
        # debug: the daemon logs every pass itself (pass.finished); the CLI prints its own.
        log.debug(
            "pass_finished",
            outcome=outcome.value,
            changes=len(plan.changes) if plan else 0,
            applied=len(report.applied),
            write_calls=report.write_calls,
            duration_ms=round(report.duration_seconds * 1000, 1),
            errors=len(report.errors),
        )
        return report


def build_runner(
    routes_dir: Path, root: Path | None, target: AwsTarget, allow_mass_delete: bool = False
) -> Callable[[bool], PassReport]:
    """What the daemon schedules: one whole pass per call, dry-run when given True."""
    reconciler = Reconciler(routes_dir, root, target, allow_mass_delete=allow_mass_delete)
    return reconciler.run_pass
