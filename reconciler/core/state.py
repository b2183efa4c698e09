"""Desired state (from the route files) and observed state (from AWS), as plain values.

The route file loader translates its documents into these; the AWS adapters translate
boto3 responses into the observed half. The diff sees nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.core.attribute_values import Item


class KeyType(StrEnum):
    S = "S"
    N = "N"
    B = "B"


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: KeyType = KeyType.S


@dataclass(frozen=True)
class KeySchema:
    partition: KeyAttribute
    sort: KeyAttribute | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.partition.name,) if self.sort is None else (self.partition.name, self.sort.name)

    def describe(self) -> str:
        parts = [f"{self.partition.name} ({self.partition.type.value}, HASH)"]
        if self.sort is not None:
            parts.append(f"{self.sort.name} ({self.sort.type.value}, RANGE)")
        return ", ".join(parts)


# An item's identity inside a table: the values of its key attributes, in key schema order,
# in wire form as strings ("acme", "1001").
ItemKey = tuple[str, ...]


def item_key(item: Mapping[str, Mapping[str, object]], schema: KeySchema) -> ItemKey:
    values: list[str] = []
    for name in schema.names:
        ((_, raw),) = item[name].items()
        values.append(str(raw))
    return tuple(values)


def format_item_key(key: ItemKey, schema: KeySchema) -> str:
    return ",".join(f"{n}={v}" for n, v in zip(schema.names, key, strict=True))


@dataclass(frozen=True)
class PruneGuard:
    """Deleting more than max_delete_fraction of what a container holds, or emptying it,
    needs explicit permission (allow_mass_delete)."""

    max_delete_fraction: float = 0.25
    allow_empty: bool = False
    allow_mass_delete: bool = False
    # A handful of deletes never trips the share check: removing one tier of three is a
    # normal edit, not a mass delete. Emptying is still guarded.
    unguarded_deletes: int = 3


@dataclass(frozen=True)
class DesiredStore:
    name: str
    entries: Mapping[str, str]
    prune: bool = False
    comment: str = ""
    guard: PruneGuard | None = None  # None: the policy-wide guard


@dataclass(frozen=True)
class DesiredTable:
    name: str
    key_schema: KeySchema
    items: Mapping[ItemKey, Item]
    prune: bool = False
    guard: PruneGuard | None = None  # None: the policy-wide guard


@dataclass(frozen=True)
class DesiredData:
    stores: tuple[DesiredStore, ...] = ()
    tables: tuple[DesiredTable, ...] = ()
    guard: PruneGuard = field(default_factory=PruneGuard)


@dataclass(frozen=True)
class ObservedStore:
    name: str
    exists: bool
    arn: str | None = None
    etag: str | None = None
    entries: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedTable:
    name: str
    exists: bool
    key_schema: KeySchema | None = None
    items: Mapping[ItemKey, Item] = field(default_factory=dict)
    # Scans have no ETag; a digest of what was read lets a saved plan be refused as stale.
    digest: str | None = None


@dataclass(frozen=True)
class ObservedData:
    stores: Mapping[str, ObservedStore] = field(default_factory=dict)
    tables: Mapping[str, ObservedTable] = field(default_factory=dict)
