"""Desired state (from the route files) and observed state (from AWS), as plain values.

The route file loader translates its documents into these; the AWS adapters translate
boto3 responses into the observed half. The diff sees nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
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
    """How much one prune of a store or table may delete without explicit permission.

    Two rules, both must hold (see `allowed_deletes` and `docs/route-files.md`):
    - share: at most max(floor(max_delete_fraction x live keys), min_deletes_allowed)
      keys are deleted;
    - empty: a prune that leaves the container empty needs allow_empty.
    allow_mass_delete (the CLI's --allow-mass-delete) lifts both for one run.
    """

    max_delete_fraction: float = 0.25
    allow_empty: bool = False
    allow_mass_delete: bool = False
    # An absolute allowance for small containers (one tier of three is 33 %): off by
    # default, so the fraction is the rule people read.
    min_deletes_allowed: int = 0

    def allowed_deletes(self, existing: int) -> int:
        """The most keys one prune of a container holding `existing` keys may delete."""
        # Decimal of the written number: floor(0.29 x 100) must be 29, not 28.
        share = math.floor(Decimal(repr(self.max_delete_fraction)) * existing)
        return max(share, self.min_deletes_allowed)


@dataclass(frozen=True)
class DesiredStore:
    name: str
    entries: Mapping[str, str]
    prune: bool = False
    comment: str = ""
    guard: PruneGuard | None = None  # None: the policy-wide guard


class DriftDetection(StrEnum):
    """How resync passes learn what changed in a table outside the route files."""

    AUTO = "auto"  # a created table gets a stream; an existing one's stream is used if any
    STREAM = "stream"  # a stream is enabled if missing (a planned change) and used
    SCAN = "scan"  # the whole table is read every resync


@dataclass(frozen=True)
class DesiredTable:
    name: str
    key_schema: KeySchema
    items: Mapping[ItemKey, Item]
    prune: bool = False
    guard: PruneGuard | None = None  # None: the policy-wide guard
    drift_detection: DriftDetection = DriftDetection.AUTO

    @property
    def wants_stream_on_create(self) -> bool:
        return self.drift_detection is not DriftDetection.SCAN


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
    stream_arn: str | None = None  # the table's DynamoDB Stream, when one is enabled


@dataclass(frozen=True)
class ObservedData:
    stores: Mapping[str, ObservedStore] = field(default_factory=dict)
    tables: Mapping[str, ObservedTable] = field(default_factory=dict)
