"""The validated route set: what the planner turns into desired state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.routes.data_kinds import KeyAttribute, KeyValueStore, PruneGuard, RoutingTable
from reconciler.routes.distribution_kind import Distribution
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.items import Item, ItemKey
from reconciler.routes.policy_kind import ReconcilerPolicy
from reconciler.routes.table_loading import ItemSource


@dataclass(frozen=True)
class SourceRef:
    """Where a document was declared (file relative to the root, 1-based line)."""

    file: str
    line: int


@dataclass(frozen=True)
class LoadedTable:
    """A RoutingTable document with every item it declares, inline and bulk.

    `items` maps the primary key (partition value, or (partition, sort)) to the item, a
    plain dict attribute -> str | int | Decimal | bool | None | list | dict, ready for
    boto3's resource layer (no floats). Do not mutate it: a RouteSetLoader hands the
    same item objects to every load in which their line did not change.

    `declaration_digest` is the sha256 of what declares the items: the document as
    parsed and each bulk file's bytes, in order. Two loads with the same digest have the
    same items (the engine's container digest is built on it, in O(1)).

    `derived` is scratch space for values consumers derive from the items (the engine's
    wire form), kept for as long as the loader that made this table keeps the table: an
    entry must be keyed by the identity of objects it holds, never by their id alone. It
    is not part of the value (equality, repr).
    """

    document: RoutingTable
    items: Mapping[ItemKey, Item]
    item_sources: Mapping[ItemKey, ItemSource]
    bulk_files: tuple[str, ...]
    declaration_digest: str
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.document.metadata.name

    @property
    def table_name(self) -> str:
        return self.document.table_name

    @property
    def partition_key(self) -> KeyAttribute:
        return self.document.spec.partition_key

    @property
    def sort_key(self) -> KeyAttribute | None:
        return self.document.spec.sort_key

    @property
    def prune(self) -> bool:
        return self.document.spec.prune


@dataclass(frozen=True)
class RouteSet:
    """Every document of a valid route set, by kind and `metadata.name`.

    Paths inside documents (function sources, tests) are relative to `root`; use
    `path()` to resolve them. `content_hash` changes when any input byte changes: route
    files, bulk item files, function sources and tests.
    """

    root: Path
    routes_dir: Path
    stores: Mapping[str, KeyValueStore]
    tables: Mapping[str, LoadedTable]
    cloudfront_functions: Mapping[str, CloudFrontFunction]
    lambda_functions: Mapping[str, LambdaEdgeFunction]
    distributions: Mapping[str, Distribution]
    policy: ReconcilerPolicy | None
    content_hash: str
    sources: Mapping[tuple[str, str], SourceRef]
    files: tuple[str, ...]
    # The environment whose values were substituted (None: none selected), and each
    # variable used -> where its value came from ("environments/prod.yaml:3",
    # "RECONCILER_VAR_X"). Defaults written in a reference are not listed.
    environment: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    # Scratch space like LoadedTable.derived, for values derived from documents (keyed
    # by the identity of the document objects held): a RouteSetLoader hands the same
    # dict to every load, and the same document object while its file is unchanged.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def prune_guard(self, document: KeyValueStore | RoutingTable) -> PruneGuard:
        """The document's own guard, else the policy's, else the defaults."""
        if document.spec.prune_guard is not None:
            return document.spec.prune_guard
        return self.policy.spec.prune_guard if self.policy is not None else PruneGuard()

    def source_of(self, kind: str, name: str) -> SourceRef:
        return self.sources[(kind, name)]

    def summary(self) -> dict[str, int]:
        return {
            "files": len(self.files),
            "KeyValueStore": len(self.stores),
            "entries": sum(len(s.spec.entries) for s in self.stores.values()),
            "RoutingTable": len(self.tables),
            "items": sum(len(t.items) for t in self.tables.values()),
            "CloudFrontFunction": len(self.cloudfront_functions),
            "LambdaEdgeFunction": len(self.lambda_functions),
            "Distribution": len(self.distributions),
            "ReconcilerPolicy": 0 if self.policy is None else 1,
        }
