"""The diff: desired + observed -> Plan. Pure; values that did not change are not in the plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from reconciler.core.attribute_values import Item
from reconciler.core.model import (
    Action,
    Address,
    Change,
    GuardDecision,
    Phase,
    Plan,
    PlanError,
    ResourceKind,
)
from reconciler.core.prune_guard import decide, violation
from reconciler.core.state import (
    DesiredData,
    DesiredStore,
    DesiredTable,
    DriftDetection,
    ItemKey,
    ObservedData,
    ObservedStore,
    ObservedTable,
    PruneGuard,
    format_item_key,
)

K = TypeVar("K")
V = TypeVar("V")


def plan_data(desired: DesiredData, observed: ObservedData, desired_digest: str = "") -> Plan:
    changes: list[Change] = []
    decisions: list[GuardDecision] = []
    errors: list[PlanError] = []
    versions: list[tuple[str, str]] = []

    for store in desired.stores:
        seen = observed.stores.get(store.name) or ObservedStore(name=store.name, exists=False)
        versions.append((f"kvs:{store.name}", seen.etag or "absent"))
        store_changes = _store_changes(store, seen)
        decisions += _guard(
            ResourceKind.KEY_VALUE_STORE,
            store.name,
            store_changes,
            len(seen.entries),
            len(store.entries),
            store.guard or desired.guard,
        )
        changes.extend(store_changes)

    for table in desired.tables:
        seen_table = observed.tables.get(table.name) or ObservedTable(name=table.name, exists=False)
        versions.append((f"table:{table.name}", seen_table.digest or "absent"))
        if seen_table.exists and seen_table.key_schema != table.key_schema:
            errors.append(_schema_mismatch(table, seen_table))
            continue
        table_changes = _table_changes(table, seen_table)
        decisions += _guard(
            ResourceKind.TABLE,
            table.name,
            table_changes,
            len(seen_table.items),
            len(table.items),
            table.guard or desired.guard,
        )
        changes.extend(table_changes)

    return Plan(
        changes=tuple(sorted(changes, key=lambda c: (c.phase, c.address))),
        observed_versions=tuple(versions),
        violations=tuple(v for v in map(violation, decisions) if v is not None),
        errors=tuple(errors),
        desired_digest=desired_digest,
        guard_decisions=tuple(decisions),
    )


def _store_changes(store: DesiredStore, seen: ObservedStore) -> list[Change]:
    changes: list[Change] = []
    if not seen.exists:
        changes.append(
            Change(
                Address(ResourceKind.KEY_VALUE_STORE, store.name),
                Action.CREATE,
                Phase.ENSURE,
                after={"comment": store.comment},
                reason="declared store does not exist",
            )
        )

    def entry(key: str) -> Address:
        return Address(ResourceKind.KVS_ENTRY, store.name, key)

    creates, updates, deletes = _compare(store.entries, seen.entries)
    changes += [
        Change(entry(k), Action.CREATE, Phase.DATA, after=v, reason="declared key missing")
        for k, v in creates
    ]
    changes += [
        Change(entry(k), Action.UPDATE, Phase.DATA, before=b, after=a, reason="value differs")
        for k, b, a in updates
    ]
    if store.prune:
        changes += [
            Change(entry(k), Action.DELETE, Phase.PRUNE, before=v, reason="key not declared (prune)")
            for k, v in deletes
        ]
    return changes


# What a stream needs to tell the reconciler which items changed: their keys.
STREAM_VIEW = "KEYS_ONLY"


def _table_changes(table: DesiredTable, seen: ObservedTable) -> list[Change]:
    changes: list[Change] = []
    schema = table.key_schema
    if not seen.exists:
        after = {"keySchema": schema.describe(), "billingMode": "PAY_PER_REQUEST"}
        if table.wants_stream_on_create:
            after["stream"] = STREAM_VIEW
        changes.append(
            Change(
                Address(ResourceKind.TABLE, table.name),
                Action.CREATE,
                Phase.ENSURE,
                after=after,
                reason="declared table does not exist",
            )
        )
    elif table.drift_detection is DriftDetection.STREAM and seen.stream_arn is None:
        changes.append(
            Change(
                Address(ResourceKind.TABLE, table.name),
                Action.UPDATE,
                Phase.ENSURE,
                before={"stream": None},
                after={"stream": STREAM_VIEW},
                reason="driftDetection: stream, and the table has no stream",
            )
        )

    def item(key: ItemKey) -> Address:
        return Address(ResourceKind.TABLE_ITEM, table.name, format_item_key(key, schema))

    creates, updates, deletes = _compare(table.items, seen.items)
    changes += [
        Change(item(k), Action.CREATE, Phase.DATA, after=_shown(v), reason="declared item missing")
        for k, v in creates
    ]
    changes += [
        Change(
            item(k), Action.UPDATE, Phase.DATA, before=_shown(b), after=_shown(a), reason="attributes differ"
        )
        for k, b, a in updates
    ]
    if table.prune:
        changes += [
            Change(item(k), Action.DELETE, Phase.PRUNE, before=_shown(v), reason="item not declared (prune)")
            for k, v in deletes
        ]
    return changes


def _shown(item: Item) -> Item:
    # Plans carry the exact wire item that apply writes; renderers turn it into plain values.
    return item


def _compare(
    desired: Mapping[K, V], observed: Mapping[K, V]
) -> tuple[list[tuple[K, V]], list[tuple[K, V, V]], list[tuple[K, V]]]:
    creates: list[tuple[K, V]] = []
    updates: list[tuple[K, V, V]] = []
    for key, value in desired.items():
        seen = observed.get(key, _ABSENT)
        if seen is value:  # the engine shares unchanged values: no attribute-wise compare
            continue
        if seen is _ABSENT:
            creates.append((key, value))
        elif seen != value:
            updates.append((key, seen, value))  # type: ignore[arg-type]
    # Every declared key was found and the sizes match: the key sets are equal.
    if not creates and len(observed) == len(desired):
        return creates, updates, []
    deletes = [(key, value) for key, value in observed.items() if key not in desired]
    return creates, updates, deletes


_ABSENT = object()


def _guard(
    kind: ResourceKind,
    container: str,
    changes: Iterable[Change],
    existing: int,
    declared: int,
    guard: PruneGuard,
) -> list[GuardDecision]:
    """The guard's verdict when the prune deletes something (none otherwise). With prune
    on, the container holds exactly the declared keys afterwards."""
    deletes = sum(1 for c in changes if c.action is Action.DELETE)
    if deletes == 0:
        return []
    return [decide(kind, container, existing, deletes, declared, guard)]


def _schema_mismatch(table: DesiredTable, seen: ObservedTable) -> PlanError:
    live = seen.key_schema.describe() if seen.key_schema else "unknown"
    return PlanError(
        Address(ResourceKind.TABLE, table.name),
        f"table {table.name} exists with key schema [{live}] but the route files declare "
        f"[{table.key_schema.describe()}]; the reconciler never recreates tables: "
        "migrate it by hand or declare a new table",
    )
