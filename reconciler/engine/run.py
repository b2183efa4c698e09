"""One reconcile pass, in one place: route files -> desired -> observe -> plan -> gate ->
phases -> report. The CLI, the daemon and the benchmarks all run this and nothing else.

Dry-run is "plan, render, stop": the phases are never reached. A conflict (a stale ETag,
a resource that appeared) re-observes and re-plans, at most MAX_CONFLICT_REPLANS times in
a pass; a plan someone confirmed (or saved) is never replaced by a different one: a
re-plan may only carry out what is left of the plan that was shown.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from reconciler.aws.clients import AwsTarget
from reconciler.aws.errors import ConflictError, ErrorClass, FatalError, ReconcileError, translate
from reconciler.core.model import Action, Address, Change, Phase, Plan, ResourceKind
from reconciler.core.render import summary
from reconciler.engine.cache import ObservationCache, Scope
from reconciler.engine.desired import DesiredState, container_key, desired_state
from reconciler.engine.gate import (
    FunctionTestFailed,
    GateSettings,
    TesterFactory,
    harness_tester,
    offline_gate,
)
from reconciler.engine.ledger import Ledger, LedgerStore, MemoryLedger
from reconciler.engine.observe import DEFAULT_FULL_SCAN_SECONDS, Adapters, observe
from reconciler.engine.phases import (
    ApplyContext,
    run_cleanup,
    run_data,
    run_functions,
    run_prune,
    run_wiring,
)
from reconciler.engine.phases.context import StepProgress
from reconciler.engine.planner import Planned, make_plan
from reconciler.engine.report import ChangeSet, Drift, Outcome, PassReport, Rejection
from reconciler.engine.stale import refuse_if_not_shown, refuse_if_stale
from reconciler.routes import RouteSet, RouteSetInvalid, RouteSetLoader

log = structlog.get_logger("reconciler.pass")

# Re-plans after a conflict within one pass: at most 1 + 3 attempts, so at most 4
# UpdateDistribution calls per distribution per pass (docs/wiring.md).
MAX_CONFLICT_REPLANS = 3

Confirm = Callable[[Plan], bool]


@dataclass(frozen=True)
class EngineSettings:
    allow_mass_delete: bool = False
    gate: GateSettings = field(default_factory=GateSettings)
    # ROOT/environments/<name>.yaml gives the ${NAME} values (docs/route-files.md);
    # `environ` fills the names it leaves open (RECONCILER_VAR_<NAME>). None: no environment.
    environment: str | None = None
    environ: Mapping[str, str] | None = None
    # A table followed by its DynamoDB Stream is still read in full this often.
    full_scan_interval: float = DEFAULT_FULL_SCAN_SECONDS


class Reconciler:
    """The engine: build once, run passes. Holds the adapters (and their caches)."""

    def __init__(
        self,
        routes_dir: Path,
        root: Path | None,
        target: AwsTarget,
        *,
        settings: EngineSettings = EngineSettings(),
        adapters: Adapters | None = None,
        ledger: LedgerStore | None = None,
        tester_factory: TesterFactory = harness_tester,
        on_step: StepProgress | None = None,
    ) -> None:
        self.routes_dir = routes_dir
        self.root = root
        self.target = target
        self.settings = settings
        self.adapters = adapters or Adapters.for_target(target)
        self.ledger = ledger or MemoryLedger()
        self.tester_factory = tester_factory
        self.on_step = on_step
        # The last observation, kept up to date with this engine's writes (engine/cache.py).
        self.cache = ObservationCache()
        # Route files as of the last load: a pass after a small edit re-reads the edit.
        self.loader = RouteSetLoader(
            routes_dir, root, environment=settings.environment, environ=settings.environ
        )

    # -- the parts ----------------------------------------------------------------------

    def load(self) -> RouteSet:
        """The route set now; what a fresh load_route_set gives, at the cost of what
        changed since the last load (reconciler/routes/loader.py)."""
        return self.loader.load()

    def desired(self, route_set: RouteSet | None = None) -> DesiredState:
        return desired_state(route_set or self.load(), self.settings.allow_mass_delete)

    def plan(self, desired: DesiredState | None = None, scope: Scope = Scope.FULL) -> Planned:
        desired = desired or self.desired()
        observation = observe(
            desired,
            self.adapters,
            self.cache,
            scope,
            full_scan_interval=self.settings.full_scan_interval,
        )
        return make_plan(desired, observation)

    def wait_deployed(
        self,
        timeout: float,
        on_progress: Callable[[str, str, float], None] | None = None,
    ) -> None:
        """Block until every declared distribution is Deployed (`apply --wait`)."""
        distributions = self.adapters.distributions
        for ref in self.desired().distributions:
            distribution_id = distributions.find(ref.selector)
            report = None if on_progress is None else functools.partial(on_progress, ref.name)
            distributions.wait_deployed(
                distribution_id, timeout=timeout, delay=2.0, on_progress=report
            )

    # -- one pass -----------------------------------------------------------------------

    def run_pass(
        self,
        dry_run: bool = False,
        *,
        heal_drift: bool = True,
        expected: Plan | None = None,
        confirm: Confirm | None = None,
        scope: Scope = Scope.FULL,
    ) -> PassReport:
        """Plan and, unless dry-run, apply.

        scope: CHANGED (the route files changed) observes only what the change touched
        and takes the rest from the last observation; FULL observes everything.
        heal_drift: False applies new input only; drift is reported, not undone.
        expected: a saved plan; the fresh one must match it (same route files, same
        observed versions) or nothing is applied.
        confirm: asked once with the plan before the first write; False writes nothing
        (the daemon uses it for "do I still hold the lease").
        """
        run = _Run(self, dry_run, heal_drift, expected, confirm, scope)
        return run.execute()


class _Run:
    """The state of one pass; exists so that every exit reports the same way."""

    def __init__(
        self,
        engine: Reconciler,
        dry_run: bool,
        heal_drift: bool,
        expected: Plan | None,
        confirm: Confirm | None,
        scope: Scope = Scope.FULL,
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.dry_run = dry_run
        self.heal_drift = heal_drift
        self.expected = expected
        self.confirm = confirm
        self.started = time.monotonic()
        self.changes = ChangeSet()
        self.conflicts = 0
        self.digest = ""
        self.plan: Plan | None = None
        self.drift: tuple[Drift, ...] = ()
        self.rejected: tuple[Rejection, ...] = ()
        # Functions whose candidate passed the offline gate in this pass (re-plans reuse it).
        self.tested: set[tuple[ResourceKind, str]] = set()

    def execute(self) -> PassReport:
        report = self._guarded()
        if report.outcome is Outcome.FAILED:
            self.engine.cache.forget()  # a failure may leave anything: observe in full next
        return report

    def _guarded(self) -> PassReport:
        try:
            return self._execute()
        except RouteSetInvalid as invalid:
            return self._report(
                Outcome.INVALID,
                errors=[e.render() for e in invalid.errors],
                reason="InvalidRouteFiles",
                error_class=ErrorClass.FATAL,
            )
        except FunctionTestFailed as failed:
            self.rejected = (Rejection(failed.function, failed.code_hash, failed.problems),)
            log.error(
                "gate.rejected",
                function=failed.function,
                code=failed.code_hash,
                problems=list(failed.problems),
            )
            return self._failed(failed)
        except ReconcileError as exc:
            log.error("pass.failed", error=str(exc), error_class=exc.error_class.value, reason=exc.reason)
            return self._failed(exc)
        except Exception as exc:  # a bug must not kill the daemon: retried with back-off
            log.exception("pass.crashed")
            return self._failed(translate(exc))

    def _execute(self) -> PassReport:
        engine = self.engine
        route_set = engine.load()
        self.digest = route_set.content_hash
        desired = engine.desired(route_set)
        ledger = engine.ledger.load()
        shown = self.expected
        while True:
            planned = engine.plan(desired, Scope.FULL if self.conflicts else self.scope)
            plan = self.plan = planned.plan
            drifted = {
                _key(c) for c in plan.changes if ledger.is_drift(c, desired.container_digests)
            }
            if self.expected is not None and self.conflicts == 0:
                refuse_if_stale(self.expected, plan)
            elif shown is not None:
                refuse_if_not_shown(shown, plan)
            if not plan.applicable:
                self.drift = _drift(plan, drifted, corrected=False)
                return self._report(Outcome.REFUSED, errors=_problems(plan), reason="PlanRefused")
            to_apply = planned if self.heal_drift else _without(planned, drifted)
            self.drift = _drift(plan, drifted, corrected=False)
            if to_apply.plan.empty:
                if not drifted:
                    ledger.converge(desired.container_digests)
                    engine.ledger.save(ledger)
                return self._report(Outcome.APPLIED if self.changes.applied else Outcome.NO_CHANGES)
            if self.dry_run:
                return self._report(Outcome.PLANNED)
            if self.confirm is not None and shown is None:
                if not self.confirm(to_apply.plan):
                    return self._report(Outcome.PLANNED, notes=["not confirmed: nothing applied"])
                shown = to_apply.plan
            try:
                self._apply(to_apply, ledger)
            except ConflictError as exc:
                engine.ledger.save(ledger)
                engine.cache.forget()  # the conflicting container changed: re-read it all
                self.conflicts += 1
                log.warning("conflict.replan", reason=str(exc), attempt=self.conflicts)
                if self.conflicts > MAX_CONFLICT_REPLANS:
                    raise ConflictError(
                        f"gave up after {MAX_CONFLICT_REPLANS} re-plans: {exc}", exc.code
                    ) from exc
                continue
            except ReconcileError:
                engine.ledger.save(ledger)
                raise
            self.drift = _drift(plan, drifted, corrected=self.heal_drift)
            keys = None if self.heal_drift else _keys_without_drift(desired, drifted)
            ledger.converge(desired.container_digests, keys)
            engine.ledger.save(ledger)
            return self._report(Outcome.APPLIED)

    def _apply(self, planned: Planned, ledger: Ledger) -> None:
        engine = self.engine
        offline_gate(planned, engine.tester_factory, self.tested)
        _preflight(planned, engine.adapters)
        ctx = ApplyContext(
            planned, engine.adapters, self.changes, ledger, engine.settings.gate, engine.on_step
        )
        first = len(self.changes.applied)  # what this attempt applies (earlier ones: re-planned)
        try:
            for phase in (run_data, run_functions, run_wiring, run_prune, run_cleanup):
                phase(ctx)
        finally:
            engine.cache.written(self.changes.applied[first:], ctx.kvs_etags)

    def _failed(self, exc: ReconcileError) -> PassReport:
        return self._report(
            Outcome.FAILED,
            errors=[str(exc)],
            error_class=exc.error_class,
            reason=exc.reason,
            retry_after=exc.retry_after,
        )

    def _report(
        self,
        outcome: Outcome,
        *,
        errors: list[str] | None = None,
        error_class: ErrorClass | None = None,
        reason: str = "",
        retry_after: float | None = None,
        notes: list[str] | None = None,
    ) -> PassReport:
        plan = self.plan
        report = PassReport(
            outcome=outcome,
            plan=plan,
            applied=tuple(self.changes.applied),
            errors=tuple(errors or ()),
            error_class=error_class,
            reason=reason,
            retry_after=retry_after,
            duration_seconds=time.monotonic() - self.started,
            calls=tuple(sorted(self.changes.calls.items())),
            conflicts=self.conflicts,
            desired_digest=self.digest,
            drift=self.drift,
            rejected=self.rejected,
            notes=tuple(self.changes.notes) + tuple(notes or ()),
        )
        log.debug(
            "pass.result",
            outcome=outcome.value,
            plan=summary(plan) if plan is not None else None,
            applied=len(report.applied),
            write_calls=report.write_calls,
            conflicts=self.conflicts,
            duration_ms=round(report.duration_seconds * 1000, 1),
        )
        return report


def _preflight(planned: Planned, adapters: Adapters) -> None:
    """What can be known to fail before the first write is checked before it: the role of
    every Lambda@Edge function the plan writes trusts both Lambda and its replication."""
    writing = {
        c.address.container
        for c in planned.plan.changes
        if c.address.kind is ResourceKind.LAMBDA_FUNCTION and c.phase is Phase.FUNCTIONS
    }
    for fn in planned.functions.lambdas:
        if fn.name in writing:
            adapters.lambdas.check_role(fn.role)


def _problems(plan: Plan) -> list[str]:
    return [e.message for e in plan.errors] + [v.message for v in plan.violations]


ChangeKey = tuple[Address, Action]


def _key(change: Change) -> ChangeKey:
    return (change.address, change.action)


def _drift(plan: Plan, drifted: set[ChangeKey], corrected: bool) -> tuple[Drift, ...]:
    return tuple(Drift(c, corrected) for c in plan.changes if _key(c) in drifted)


def _without(planned: Planned, drifted: set[ChangeKey]) -> Planned:
    if not drifted:
        return planned
    kept = tuple(c for c in planned.plan.changes if _key(c) not in drifted)
    return replace(planned, plan=replace(planned.plan, changes=kept))


def _keys_without_drift(desired: DesiredState, drifted: set[ChangeKey]) -> list[str]:
    left = {container_key(address.kind, address.container) for address, _ in drifted}
    return [k for k in desired.container_digests if k not in left]


__all__ = ["MAX_CONFLICT_REPLANS", "EngineSettings", "FatalError", "Reconciler"]
