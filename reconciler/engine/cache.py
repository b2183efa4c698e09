"""What the engine remembers between passes, so a change costs O(change), not O(table).

The cache holds, per container (store, table, function, distribution), the last
observation together with the digest of the declaration it was observed for, updated with
every write the engine made since. It is only ever a shortcut:

- a pass triggered by a change of route files (Scope.CHANGED) re-observes the containers
  whose declaration changed and takes the others from the cache; in a changed table it
  re-reads, strongly consistent, exactly the items whose declared value differs from what
  the cache holds (BatchGetItem), before writing them;
- a resync (Scope.FULL) re-observes everything; a table with a DynamoDB Stream is caught up
  from the stream (only the keys it names are re-read), other tables are scanned, and every
  table is scanned again after `full_scan_interval`;
- any failure, conflict or restart drops the cache: the next pass observes in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from reconciler.aws.streams import StreamCursor
from reconciler.core.attribute_values import Item
from reconciler.core.functions import ObservedCloudFrontFunction, ObservedLambdaFunction
from reconciler.core.model import Action, Change, ResourceKind
from reconciler.core.policies import PolicyCatalog
from reconciler.core.state import ItemKey, KeySchema, ObservedStore, ObservedTable, item_key
from reconciler.core.wiring import ObservedDistribution


class Scope(StrEnum):
    FULL = "full"  # startup, resync, retry, an operator's request: observe everything
    CHANGED = "changed"  # route files changed: observe what the change touched


@dataclass
class CachedTable:
    observed: ObservedTable
    cursor: StreamCursor | None = None  # where its stream was last read
    scanned_at: float = 0.0  # monotonic time of the last full scan
    version: int = 0  # bumped by every update: the plan's observed version when cached


@dataclass
class ObservationCache:
    digests: dict[str, str] = field(default_factory=dict)  # container key -> declaration digest
    stores: dict[str, ObservedStore] = field(default_factory=dict)
    tables: dict[str, CachedTable] = field(default_factory=dict)
    cloudfront: dict[str, ObservedCloudFrontFunction] = field(default_factory=dict)
    lambdas: dict[str, ObservedLambdaFunction] = field(default_factory=dict)
    distributions: dict[str, ObservedDistribution] = field(default_factory=dict)
    cache_policies: PolicyCatalog | None = None
    origin_request_policies: PolicyCatalog | None = None
    associated: frozenset[str] | None = None  # Lambda versions any distribution wires
    account_id: str = ""

    def fresh(self, key: str, digest: str | None) -> bool:
        """The cached observation of `key` was made for this very declaration."""
        return digest is not None and self.digests.get(key) == digest

    def forget(self) -> None:
        """After a failure or a conflict: the next pass observes everything."""
        self.digests.clear()
        self.stores.clear()
        self.tables.clear()
        self.cloudfront.clear()
        self.lambdas.clear()
        self.distributions.clear()
        self.cache_policies = self.origin_request_policies = None
        self.associated = None

    def written(self, changes: Iterable[Change], kvs_etags: Mapping[str, str]) -> None:
        """Fold the engine's own writes into the cache: what landed is now live."""
        dropped: set[tuple[ResourceKind, str]] = set()
        # One copy of a container's mapping per pass, not per change (1,000 writes into a
        # 100k-item table must not copy it 1,000 times).
        to_stores: dict[str, list[Change]] = {}
        to_tables: dict[str, list[Change]] = {}
        for change in changes:
            kind, name = change.address.kind, change.address.container
            if kind is ResourceKind.KVS_ENTRY and name in self.stores:
                to_stores.setdefault(name, []).append(change)
            elif kind is ResourceKind.TABLE_ITEM and name in self.tables:
                to_tables.setdefault(name, []).append(change)
            else:
                dropped.add((kind, name))
        for name, written in to_stores.items():
            self.stores[name] = _store_written(self.stores[name], written, kvs_etags.get(name))
        for name, written in to_tables.items():
            _table_written(self.tables[name], written)
        for kind, name in dropped:
            self._drop(kind, name)

    def _drop(self, kind: ResourceKind, name: str) -> None:
        """A container whose live state the cache cannot predict: observe it next pass."""
        by_kind: dict[ResourceKind, dict[str, Any]] = {
            ResourceKind.KEY_VALUE_STORE: self.stores,
            ResourceKind.TABLE: self.tables,
            ResourceKind.CLOUDFRONT_FUNCTION: self.cloudfront,
            ResourceKind.LAMBDA_FUNCTION: self.lambdas,
            ResourceKind.DISTRIBUTION_BEHAVIOR: self.distributions,
        }
        store = by_kind.get(kind)
        if store is not None:
            store.pop(name, None)
        # Publishing a function re-deploys the distributions that use it (their ETag
        # moves): distributions are observed again after any function write.
        if kind in (ResourceKind.CLOUDFRONT_FUNCTION, ResourceKind.LAMBDA_FUNCTION):
            self.distributions.clear()
        if kind in (ResourceKind.LAMBDA_FUNCTION, ResourceKind.DISTRIBUTION_BEHAVIOR):
            self.associated = None


def _store_written(store: ObservedStore, changes: list[Change], etag: str | None) -> ObservedStore:
    entries = dict(store.entries)
    for change in changes:
        key = change.address.key
        if key is None:
            continue
        if change.action is Action.DELETE:
            entries.pop(key, None)
        else:
            entries[key] = str(change.after)
    return replace(store, entries=entries, etag=etag or store.etag)


def _table_written(cached: CachedTable, changes: list[Change]) -> None:
    observed = cached.observed
    schema = observed.key_schema
    if schema is None:
        return
    items = dict(observed.items)
    for change in changes:
        if change.action is Action.DELETE:
            items.pop(item_key(change.before, schema), None)
        else:
            # The declared object itself: the next pass finds it unchanged by identity.
            items[item_key(change.after, schema)] = change.after
    cached.version += 1
    cached.observed = replace(observed, items=items, digest=f"cached:{cached.version}")


def refreshed_table(
    cached: CachedTable, schema: KeySchema, keys: Iterable[ItemKey], found: Mapping[ItemKey, Item]
) -> ObservedTable:
    """The cached table with `keys` replaced by what a consistent read found (absent: gone)."""
    items = dict(cached.observed.items)
    for key in keys:
        if key in found:
            items[key] = found[key]
        else:
            items.pop(key, None)
    cached.version += 1
    cached.observed = replace(cached.observed, items=items, digest=f"cached:{cached.version}")
    return cached.observed
