"""Applies a plan: sends exactly the steps the pure schedule derives from it.

Stops at the first failure and says what was applied before it; a re-run converges
because every step is idempotent against the state the next pass observes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import structlog
from botocore.exceptions import ClientError

from reconciler.aws.dynamodb import DynamoDbAdapter
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, error_code
from reconciler.aws.kvs import KvsAdapter
from reconciler.core.model import Address, Change, Plan, ResourceKind
from reconciler.core.schedule import CreateStore, CreateTable, KvsWrite, Step, TableWrite, schedule
from reconciler.core.state import KeySchema, format_item_key, item_key

log = structlog.get_logger("reconciler.apply")


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    write_calls: int = 0


@dataclass
class DataExecutor:
    kvs: KvsAdapter
    ddb: DynamoDbAdapter
    key_schemas: Mapping[str, KeySchema]
    store_arns: dict[str, str]
    on_step: Callable[[int, int], None] | None = None
    # Store ETags as they move: seeded from the plan's observations, advanced by each write.
    etags: dict[str, str] = field(default_factory=dict)

    def apply(self, plan: Plan, result: ApplyResult | None = None) -> ApplyResult:
        """Applies all the plan's data steps in order."""
        return self.run(plan, schedule(plan, self.key_schemas), result)

    def run(self, plan: Plan, steps: Sequence[Step], result: ApplyResult | None = None) -> ApplyResult:
        """Runs `steps` (derived from `plan`); `result` (if given) records progress even when
        a step raises, so the caller can report what landed before a failure."""
        if not plan.applicable:
            raise ReconcileError(
                "plan has errors or refused prunes; nothing applied", ErrorClass.FATAL, "PlanNotApplicable"
            )
        by_address = {c.address: c for c in plan.changes}
        for name, version in plan.observed_versions:
            store = name.removeprefix("kvs:")
            if name.startswith("kvs:") and version != "absent":
                self.etags.setdefault(store, version)
        result = result if result is not None else ApplyResult()
        for index, step in enumerate(steps, start=1):
            self._run(step, self.etags, by_address, result)
            if self.on_step:
                self.on_step(index, len(steps))
        return result

    def _run(
        self, step: Step, etags: dict[str, str], by_address: Mapping[Address, Change], result: ApplyResult
    ) -> None:
        if isinstance(step, CreateStore):
            with _exists_now("store", step.store, "EntityAlreadyExists"):
                arn = self.kvs.create(step.store, step.comment)
            self.store_arns[step.store] = arn
            etags[step.store] = self.kvs.etag(arn)
            result.write_calls += 1
            self._applied(by_address[Address(ResourceKind.KEY_VALUE_STORE, step.store)], result)
        elif isinstance(step, CreateTable):
            with _exists_now("table", step.table, "ResourceInUseException"):
                self.ddb.create(step.table, self.key_schemas[step.table])
            result.write_calls += 1
            self._applied(by_address[Address(ResourceKind.TABLE, step.table)], result)
        elif isinstance(step, KvsWrite):
            etags[step.store] = self.kvs.write(self.store_arns[step.store], step, etags[step.store])
            result.write_calls += 1
            for key in [k for k, _ in step.puts] + list(step.deletes):
                self._applied(by_address[Address(ResourceKind.KVS_ENTRY, step.store, key)], result)
        elif isinstance(step, TableWrite):
            self.ddb.write(step)
            result.write_calls += 1
            schema = self.key_schemas[step.table]
            for item in list(step.puts) + list(step.deletes):
                key = format_item_key(item_key(item, schema), schema)
                self._applied(by_address[Address(ResourceKind.TABLE_ITEM, step.table, key)], result)

    @staticmethod
    def _applied(change: Change, result: ApplyResult) -> None:
        result.applied.append(change)
        log_applied(change)


def log_applied(change: Change) -> None:
    """One structlog event per applied change: address, action and kind, never values."""
    log.info(
        "change_applied",
        address=str(change.address),
        action=change.action.value,
        kind=change.address.kind.value,
    )


@contextmanager
def _exists_now(kind: str, name: str, code: str) -> Iterator[None]:
    """A create that finds its resource there: the plan saw it absent, so either our own
    earlier attempt landed and its answer was lost (a connection reset, then botocore's
    retry) or another writer created it. Either way: re-read and re-plan, not fail."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) != code:
            raise
        raise ConflictError(
            f"{kind} {name} exists though it was absent when read (a lost answer to our own "
            "create, or another writer); re-plan",
            code,
        ) from exc
