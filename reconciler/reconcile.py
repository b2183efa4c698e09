"""One reconcile pass for the routing data: observe -> plan -> (apply), with conflict re-plans.

Level-triggered: every pass compares the whole desired state with the whole observed state.
A stale ETag (another writer) means re-read and re-plan, a bounded number of times; the
plan is never replayed blindly over someone else's write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from reconciler.aws.clients import AwsTarget
from reconciler.aws.dynamodb import DynamoDbAdapter
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError
from reconciler.aws.kvs import KvsAdapter
from reconciler.core.diff import plan_data
from reconciler.core.model import Change, Plan
from reconciler.core.state import DesiredData, ObservedData
from reconciler.executor import ApplyResult, DataExecutor

log = structlog.get_logger("reconciler.pass")


@dataclass
class Adapters:
    kvs: KvsAdapter
    ddb: DynamoDbAdapter

    @classmethod
    def for_target(cls, target: AwsTarget) -> Adapters:
        return cls(kvs=KvsAdapter(target), ddb=DynamoDbAdapter(target))


@dataclass
class Observation:
    observed: ObservedData
    store_arns: dict[str, str]


@dataclass
class PassOutcome:
    plan: Plan
    applied: list[Change] = field(default_factory=list)
    write_calls: int = 0
    conflicts: int = 0


def observe(desired: DesiredData, adapters: Adapters) -> Observation:
    stores = {s.name: adapters.kvs.observe(s.name) for s in desired.stores}
    tables = {t.name: adapters.ddb.observe(t.name) for t in desired.tables}
    arns = {name: s.arn for name, s in stores.items() if s.arn}
    return Observation(ObservedData(stores=stores, tables=tables), arns)


def plan(desired: DesiredData, adapters: Adapters, digest: str = "") -> tuple[Plan, Observation]:
    seen = observe(desired, adapters)
    return plan_data(desired, seen.observed, digest), seen


def apply(
    desired: DesiredData,
    adapters: Adapters,
    *,
    digest: str = "",
    expected: Plan | None = None,
    max_conflicts: int = 3,
    on_step: Callable[[int, int], None] | None = None,
) -> PassOutcome:
    """Observe, plan and apply until converged or out of conflict retries.

    With `expected` (a saved plan), the fresh plan must have been made from the same
    observations and the same route files, or nothing is applied.
    """
    conflicts = 0
    progress = ApplyResult()
    while True:
        current, seen = plan(desired, adapters, digest)
        if expected is not None:
            refuse_if_stale(expected, current)
            expected = None  # only the first attempt is bound to the saved plan
        if current.empty or not current.applicable:
            return PassOutcome(current, progress.applied, progress.write_calls, conflicts)
        executor = DataExecutor(
            adapters.kvs,
            adapters.ddb,
            {t.name: t.key_schema for t in desired.tables},
            dict(seen.store_arns),
            on_step,
        )
        try:
            executor.apply(current, progress)
        except ConflictError as exc:
            conflicts += 1
            log.warning("conflict_replan", reason=str(exc), attempt=conflicts, limit=max_conflicts)
            if conflicts > max_conflicts:
                raise ReconcileError(
                    f"gave up after {max_conflicts} re-plans: {exc}", ErrorClass.CONFLICT, exc.code
                ) from exc
            continue
        return PassOutcome(current, progress.applied, progress.write_calls, conflicts)


def refuse_if_stale(saved: Plan, fresh: Plan) -> None:
    if saved.desired_digest and saved.desired_digest != fresh.desired_digest:
        raise ReconcileError(
            "saved plan is stale: the route files changed since it was made; run plan again",
            ErrorClass.FATAL,
            "StalePlan",
        )
    if dict(saved.observed_versions) != dict(fresh.observed_versions):
        changed = sorted(
            k
            for k in set(dict(saved.observed_versions)) | set(dict(fresh.observed_versions))
            if dict(saved.observed_versions).get(k) != dict(fresh.observed_versions).get(k)
        )
        raise ReconcileError(
            f"saved plan is stale: live state changed since it was made ({', '.join(changed)}); "
            "run plan again",
            ErrorClass.FATAL,
            "StalePlan",
        )
