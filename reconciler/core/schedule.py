"""From a Plan to the write calls that carry it out: ordered, batched within AWS's limits.

Pure, so that the batching (the thing that decides how many API calls an apply costs) is
tested without a wire, and executors only send what this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from reconciler.core.attribute_values import Item
from reconciler.core.model import Action, Change, Phase, Plan, ResourceKind
from reconciler.core.state import KeySchema

KVS_MAX_OPS = 50
KVS_MAX_BYTES = 3 * 1024 * 1024
DDB_MAX_BATCH = 25

T = TypeVar("T")


@dataclass(frozen=True)
class CreateStore:
    store: str
    comment: str = ""


@dataclass(frozen=True)
class CreateTable:
    table: str
    stream: bool = False  # with a KEYS_ONLY DynamoDB Stream (drift found in O(changes))


@dataclass(frozen=True)
class EnableStream:
    """UpdateTable StreamSpecification KEYS_ONLY on an existing table."""

    table: str


@dataclass(frozen=True)
class KvsWrite:
    """One UpdateKeys call: all-or-nothing on AWS's side."""

    store: str
    puts: tuple[tuple[str, str], ...]
    deletes: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.puts) + len(self.deletes)


@dataclass(frozen=True)
class TableWrite:
    """One BatchWriteItem call (not atomic: unprocessed items are re-sent)."""

    table: str
    puts: tuple[Item, ...]
    deletes: tuple[Item, ...]  # key attributes only

    @property
    def size(self) -> int:
        return len(self.puts) + len(self.deletes)


Step = CreateStore | CreateTable | EnableStream | KvsWrite | TableWrite


def schedule(plan: Plan, key_schemas: Mapping[str, KeySchema]) -> list[Step]:
    """Data steps in apply order (see split_schedule)."""
    before, after = split_schedule(plan, key_schemas)
    return before + after


def split_schedule(
    plan: Plan, key_schemas: Mapping[str, KeySchema]
) -> tuple[list[Step], list[Step]]:
    """Data steps to run before the functions and wiring phases, and those to run after.

    Deletions normally wait for the PRUNE phase, after the wiring. When the plan changes no
    functions and no wiring, nothing between the two phases can still depend on a pruned
    key, so a store's or table's puts and deletes share batches and the call count is the
    minimum ceil(changes / batch size).
    """
    before: list[Step] = []
    has_middle = any(c.phase in (Phase.FUNCTIONS, Phase.WIRING) for c in plan.changes)
    data_phases = (Phase.DATA,) if has_middle else (Phase.DATA, Phase.PRUNE)

    for change in plan.changes:
        if change.phase is Phase.ENSURE:
            if change.address.kind is ResourceKind.KEY_VALUE_STORE:
                shown = change.after if isinstance(change.after, dict) else {}
                before.append(CreateStore(change.address.container, str(shown.get("comment", ""))))
            elif change.address.kind is ResourceKind.TABLE:
                shown = change.after if isinstance(change.after, dict) else {}
                if change.action is Action.CREATE:
                    before.append(CreateTable(change.address.container, bool(shown.get("stream"))))
                else:
                    before.append(EnableStream(change.address.container))

    before += _data_steps(plan.changes, data_phases, key_schemas)
    after = _data_steps(plan.changes, (Phase.PRUNE,), key_schemas) if has_middle else []
    return before, after


def _data_steps(
    changes: Sequence[Change], phases: tuple[Phase, ...], key_schemas: Mapping[str, KeySchema]
) -> list[Step]:
    steps: list[Step] = []
    wanted = [c for c in changes if c.phase in phases]
    for store, group in _group(wanted, ResourceKind.KVS_ENTRY):
        steps += kvs_batches(store, group)
    for table, group in _group(wanted, ResourceKind.TABLE_ITEM):
        steps += table_batches(table, group, key_schemas[table])
    return steps


def _group(changes: Iterable[Change], kind: ResourceKind) -> Iterator[tuple[str, list[Change]]]:
    groups: dict[str, list[Change]] = {}
    for change in changes:
        if change.address.kind is kind:
            groups.setdefault(change.address.container, []).append(change)
    # Puts before deletes inside a container, so a crash part-way leaves declared state
    # more complete rather than less.
    for name, group in groups.items():
        yield name, sorted(group, key=lambda c: c.action is Action.DELETE)


def entry_bytes(key: str, value: str | None) -> int:
    return len(key.encode()) + (len(value.encode()) if value is not None else 0)


def kvs_batches(store: str, changes: Sequence[Change]) -> list[KvsWrite]:
    batches: list[KvsWrite] = []
    puts: list[tuple[str, str]] = []
    deletes: list[str] = []
    size = 0
    for change in changes:
        key = change.address.key
        assert key is not None
        value = None if change.action is Action.DELETE else str(change.after)
        cost = entry_bytes(key, value)
        if len(puts) + len(deletes) == KVS_MAX_OPS or size + cost > KVS_MAX_BYTES:
            batches.append(KvsWrite(store, tuple(puts), tuple(deletes)))
            puts, deletes, size = [], [], 0
        if value is None:
            deletes.append(key)
        else:
            puts.append((key, value))
        size += cost
    if puts or deletes:
        batches.append(KvsWrite(store, tuple(puts), tuple(deletes)))
    return batches


def table_batches(table: str, changes: Sequence[Change], schema: KeySchema) -> list[TableWrite]:
    batches: list[TableWrite] = []
    for chunk in chunked(changes, DDB_MAX_BATCH):
        puts = tuple(c.after for c in chunk if c.action is not Action.DELETE)
        deletes = tuple(_key_of(c.before, schema) for c in chunk if c.action is Action.DELETE)
        batches.append(TableWrite(table, puts, deletes))
    return batches


def _key_of(item: Item, schema: KeySchema) -> Item:
    return {name: item[name] for name in schema.names}


def chunked(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
