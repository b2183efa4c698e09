"""Ensure, data and prune phases: stores and tables exist, entries and items are written,
undeclared ones deleted. The pure schedule (core/schedule.py) decides the batches; this
sends each one as one adapter call and records the changes it carried."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import structlog

from reconciler.core.model import Address, Change, ResourceKind
from reconciler.core.schedule import (
    CreateStore,
    CreateTable,
    EnableStream,
    KvsWrite,
    Step,
    TableWrite,
    split_schedule,
)
from reconciler.core.state import KeySchema, format_item_key, item_key
from reconciler.engine.phases.context import ApplyContext

log = structlog.get_logger("reconciler.apply")

PROGRESS_EVERY_SECONDS = 5.0


def _steps(ctx: ApplyContext) -> tuple[list[Step], list[Step]]:
    return split_schedule(ctx.planned.plan, _schemas(ctx))


def _schemas(ctx: ApplyContext) -> dict[str, KeySchema]:
    return {t.name: t.key_schema for t in ctx.planned.desired.data.tables}


def run_data(ctx: ApplyContext) -> None:
    """Stores and tables created, entries and items written (and, when the plan changes no
    function and no wiring, pruned in the same batches: see split_schedule)."""
    before, _ = _steps(ctx)
    _run(ctx, before, "data")


def run_prune(ctx: ApplyContext) -> None:
    _, after = _steps(ctx)
    _run(ctx, after, "prune")


def _run(ctx: ApplyContext, steps: Sequence[Step], phase: str) -> None:
    by_address = {c.address: c for c in ctx.planned.plan.changes}
    schemas = _schemas(ctx)
    last_log = time.monotonic()
    for index, step in enumerate(steps, start=1):
        _send(ctx, step, by_address, schemas)
        if ctx.on_step is not None:
            ctx.on_step(index, len(steps))
        if time.monotonic() - last_log >= PROGRESS_EVERY_SECONDS and index < len(steps):
            last_log = time.monotonic()
            log.info("apply.progress", phase=phase, done=index, total=len(steps))


def _send(
    ctx: ApplyContext,
    step: Step,
    by_address: Mapping[Address, Change],
    schemas: Mapping[str, KeySchema],
) -> None:
    adapters = ctx.adapters
    if isinstance(step, CreateStore):
        arn = adapters.kvs.create(step.store, step.comment)
        adapters.kvs.wait_ready(step.store)
        ctx.store_arns[step.store] = arn
        ctx.kvs_etags[step.store] = adapters.kvs.etag(arn)
        ctx.applied(by_address[Address(ResourceKind.KEY_VALUE_STORE, step.store)], "CreateKeyValueStore")
    elif isinstance(step, CreateTable):
        adapters.tables.create(step.table, schemas[step.table], stream=step.stream)
        adapters.tables.wait_active(step.table)
        ctx.applied(by_address[Address(ResourceKind.TABLE, step.table)], "CreateTable")
    elif isinstance(step, EnableStream):
        adapters.tables.enable_stream(step.table)
        adapters.tables.wait_active(step.table)
        ctx.applied(by_address[Address(ResourceKind.TABLE, step.table)], "UpdateTable")
    elif isinstance(step, KvsWrite):
        ctx.kvs_etags[step.store] = adapters.kvs.write(
            ctx.store_arns[step.store], step, ctx.kvs_etags[step.store]
        )
        keys = [k for k, _ in step.puts] + list(step.deletes)
        ctx.changes.calls.update(["UpdateKeys"])
        for key in keys:
            ctx.applied(by_address[Address(ResourceKind.KVS_ENTRY, step.store, key)])
    elif isinstance(step, TableWrite):
        adapters.tables.write(step)
        schema = schemas[step.table]
        ctx.changes.calls.update(["BatchWriteItem"])
        for item in list(step.puts) + list(step.deletes):
            key = format_item_key(item_key(item, schema), schema)
            ctx.applied(by_address[Address(ResourceKind.TABLE_ITEM, step.table, key)])
