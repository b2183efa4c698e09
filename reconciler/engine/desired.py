"""Route set -> the core's desired values. Reads function sources and builds packages; no AWS.

Besides the values, each container (store, table, function, distribution) gets a digest of
what the route files declare for it: the ledger compares it with the digest of the last
convergence to tell new input from drift, container by container, and the observation
cache reuses what it observed for a container whose digest did not move.

A table's digest comes from the loader (`LoadedTable.declaration_digest`: the document
and its bulk files' bytes), not from its 100k items; its wire form is kept between
passes per item object (`_table_items`), so a pass after a one-line edit converts one item.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress, count, repeat
from operator import is_not
from pathlib import Path
from typing import Any, cast

from reconciler.core.attribute_values import Item, ValueInterner, item_from_python
from reconciler.core.functions import (
    DesiredCloudFrontFunction,
    DesiredFunctions,
    DesiredLambdaFunction,
)
from reconciler.core.model import ResourceKind
from reconciler.core.state import (
    DesiredData,
    DesiredStore,
    DesiredTable,
    DriftDetection,
    ItemKey,
    KeyAttribute,
    KeySchema,
    KeyType,
    PruneGuard,
    item_key,
)
from reconciler.core.wiring import BehaviorRefs, DistributionSelector
from reconciler.functions.package_zip import LambdaPackage, build_package
from reconciler.routes import EVENT_TYPES, LoadedTable, RouteSet
from reconciler.routes import PruneGuard as RoutePruneGuard


@dataclass(frozen=True)
class FunctionSources:
    """What the gate and the functions phase need besides the desired values."""

    packages: Mapping[str, LambdaPackage]  # Lambda name -> the candidate package
    lambda_configs: Mapping[str, Mapping[str, Any]]  # Lambda name -> config baked in
    folders: Mapping[str, Path]  # function name -> its source folder (test events)
    stores: Mapping[str, str]  # CloudFront Function -> the store it declares
    store_entries: Mapping[str, Mapping[str, str]]  # store -> declared entries (tier tests)


@dataclass(frozen=True)
class DistributionRefs:
    name: str
    selector: DistributionSelector
    behaviors: tuple[BehaviorRefs, ...]


@dataclass(frozen=True)
class DesiredState:
    route_set: RouteSet
    data: DesiredData
    functions: DesiredFunctions  # CloudFront Functions carry no store ARN yet (the planner's)
    sources: FunctionSources
    distributions: tuple[DistributionRefs, ...]
    container_digests: Mapping[str, str]  # container_key() -> digest of the declaration

    @property
    def digest(self) -> str:
        return self.route_set.content_hash


def container_key(kind: ResourceKind, container: str) -> str:
    """The ledger's key for the container a change belongs to (entries -> their store)."""
    parent = {
        ResourceKind.KVS_ENTRY: ResourceKind.KEY_VALUE_STORE,
        ResourceKind.TABLE_ITEM: ResourceKind.TABLE,
        ResourceKind.DISTRIBUTION_BEHAVIOR: ResourceKind.DISTRIBUTION_BEHAVIOR,
    }.get(kind, kind)
    return f"{parent.value}:{container}"


def desired_state(route_set: RouteSet, allow_mass_delete: bool = False) -> DesiredState:
    data = desired_data(route_set, allow_mass_delete)
    functions, sources = _functions(route_set)
    distributions = _distribution_refs(route_set)
    digests: dict[str, str] = {}
    for store in data.stores:
        digests[container_key(ResourceKind.KEY_VALUE_STORE, store.name)] = _store_digest(
            route_set, store
        )
    declarations = {t.table_name: t.declaration_digest for t in route_set.tables.values()}
    for table in data.tables:
        digests[container_key(ResourceKind.TABLE, table.name)] = _digest(
            [repr(table.key_schema), table.prune, declarations[table.name]]
        )
    for cf in functions.cloudfront:
        digests[container_key(ResourceKind.CLOUDFRONT_FUNCTION, cf.name)] = _digest(
            [cf.code_sha256, cf.runtime, cf.comment, sources.stores.get(cf.name)]
        )
    for lam in functions.lambdas:
        digests[container_key(ResourceKind.LAMBDA_FUNCTION, lam.name)] = _digest(
            [lam.zip_sha256, lam.config.shown(), lam.keep_versions]
        )
    for dist in distributions:
        # The wiring follows the functions it names (a new version is a new ARN): their
        # declarations are part of the distribution's.
        named = sorted(
            {f for b in dist.behaviors for f in b.functions.values()}
            | {f for b in dist.behaviors for f, _ in b.lambdas.values()}
        )
        function_digests = [
            digests.get(container_key(ResourceKind.CLOUDFRONT_FUNCTION, f))
            or digests.get(container_key(ResourceKind.LAMBDA_FUNCTION, f))
            for f in named
        ]
        digests[container_key(ResourceKind.DISTRIBUTION_BEHAVIOR, dist.name)] = _digest(
            [dist.selector.describe(), [repr(b) for b in dist.behaviors], function_digests]
        )
    return DesiredState(route_set, data, functions, sources, distributions, digests)


_STORE_DIGESTS = "engine.desired.store-digests"


def _store_digest(route_set: RouteSet, store: DesiredStore) -> str:
    """The digest of a store's declaration (entries, prune, comment: all of its document),
    kept with the document object it was made from while that is the store's document
    (a 22k-entry store costs tens of milliseconds to digest)."""
    document = route_set.stores[store.name]
    kept: dict[str, tuple[Any, str]] = route_set.derived.setdefault(_STORE_DIGESTS, {})
    found = kept.get(store.name)
    if found is None or found[0]() is not document:  # held weakly: an old one may go
        digest = _digest([sorted(store.entries.items()), store.prune, store.comment])
        found = kept[store.name] = (weakref.ref(document), digest)
    for name in set(kept) - set(route_set.stores):
        del kept[name]
    return found[1]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


_WIRE = "engine.desired.wire"
# Items added or removed in one place, up to this many plus 1/16 of the table, are spliced
# into the last pass's lists; more (a file sorted, say) are matched by key.
SPLICE_SLACK = 64


@dataclass(frozen=True)
class _WireMemo:
    """One table's wire form as of the last pass, kept in `LoadedTable.derived`."""

    schema: KeySchema
    source: Mapping[Any, Any]  # that pass's LoadedTable.items (held: `is` is meaningful)
    # core key -> wire form, in the order of `source`, one entry per route key (so that
    # list(items) and list(items.values()) are the cores and wires of source's items).
    items: dict[ItemKey, Item]


def _table_items(loaded: LoadedTable, schema: KeySchema) -> Mapping[ItemKey, Item]:
    """The wire form of every item, keyed by the core's item key: equal to converting
    every item afresh, in the same order. An item object the last pass converted keeps
    the wire form made then (the loader hands out the same object while its line does
    not change), so a pass after a one-line edit converts one item."""
    memo = loaded.derived.get(_WIRE)
    if not isinstance(memo, _WireMemo) or memo.schema != schema:
        memo = None
    elif memo.source is loaded.items:
        return memo.items  # the very mapping of the last pass: nothing changed
    keys, values = list(loaded.items), list(loaded.items.values())
    cores, wires, changed, kept_places = _last_pass(memo, keys, values)
    interner = ValueInterner()  # shared values: a fraction of the memory at 100k items
    for index in changed:
        wire = item_from_python(values[index], interner)
        core = item_key(wire, schema)
        if core == keys[index]:
            core = cast(ItemKey, keys[index])  # text keys: the loader's serves (100k fewer tuples)
        kept_places = kept_places and (cores[index] is None or core == cores[index])
        wires[index], cores[index] = wire, core
    if kept_places and memo is not None:
        # Every key where it was (values edited, items appended): the last mapping with
        # the changes put in has the order a fresh build has.
        items = dict(memo.items)
        for index in changed:
            items[cores[index]] = wires[index]
    else:
        items = dict(zip(cores, wires, strict=True))
    if len(items) == len(values):  # one entry per route key: safe to build on next pass
        loaded.derived[_WIRE] = _WireMemo(schema, loaded.items, items)
    else:
        loaded.derived.pop(_WIRE, None)
    return items


def _last_pass(
    memo: _WireMemo | None, keys: list[Any], values: list[Any]
) -> tuple[list[Any], list[Any], list[int], bool]:
    """(cores, wires, changed, kept places): each item's core key and wire form as of the
    last pass where the item is the same object (None elsewhere), the places to convert
    afresh, and whether the last pass's items keep their places (so far as the unchanged
    ones tell: an edited item must also keep its key)."""
    size = len(values)
    if memo is None:
        return [None] * size, [None] * size, list(range(size)), False
    last: list[Any] = list(memo.source.values())
    cores: list[Any] = list(memo.items)
    wires: list[Any] = list(memo.items.values())
    if len(last) == size:  # the usual edit: compare place by place
        changed = list(compress(count(), map(is_not, values, last)))
        return cores, wires, changed, True
    # Items added or removed: the same objects at the start and at the end keep theirs.
    shorter = min(size, len(last))
    head = next(compress(count(), map(is_not, values, last)), shorter)
    tail = next(compress(count(), map(is_not, reversed(values), reversed(last))), shorter)
    tail = min(tail, shorter - head)
    middle = size - head - tail
    if middle + (len(last) - head - tail) <= SPLICE_SLACK + size // 16:
        gap = [None] * middle
        cores = [*cores[:head], *gap, *cores[len(last) - tail :]]
        wires = [*wires[:head], *gap, *wires[len(last) - tail :]]
        appended = head == len(last)
        return cores, wires, list(range(head, head + middle)), appended
    # Moved around: find each route key's place in the last pass.
    places = dict(zip(memo.source, range(len(last)), strict=True))
    at = list(map(places.get, keys, repeat(len(last))))
    last.append(None)
    cores.append(None)
    wires.append(None)
    changed = list(compress(count(), map(is_not, values, map(last.__getitem__, at))))
    return list(map(cores.__getitem__, at)), list(map(wires.__getitem__, at)), changed, False


def _guard(guard: RoutePruneGuard, allow_mass_delete: bool) -> PruneGuard:
    return PruneGuard(
        max_delete_fraction=guard.max_delete_fraction,
        min_deletes_allowed=guard.min_deletes_allowed,
        allow_empty=guard.allow_empty or allow_mass_delete,
        allow_mass_delete=allow_mass_delete,
    )


def desired_data(route_set: RouteSet, allow_mass_delete: bool = False) -> DesiredData:
    stores = tuple(
        DesiredStore(
            name=name,
            entries=dict(doc.spec.entries),
            prune=doc.spec.prune,
            comment=doc.spec.comment,
            guard=_guard(route_set.prune_guard(doc), allow_mass_delete),
        )
        for name, doc in sorted(route_set.stores.items())
    )
    tables = []
    for loaded in sorted(route_set.tables.values(), key=lambda t: t.table_name):
        schema = KeySchema(
            KeyAttribute(loaded.partition_key.name, KeyType(loaded.partition_key.type)),
            KeyAttribute(loaded.sort_key.name, KeyType(loaded.sort_key.type)) if loaded.sort_key else None,
        )
        tables.append(
            DesiredTable(
                name=loaded.table_name,
                key_schema=schema,
                items=_table_items(loaded, schema),
                prune=loaded.prune,
                guard=_guard(route_set.prune_guard(loaded.document), allow_mass_delete),
                drift_detection=DriftDetection(loaded.document.spec.drift_detection),
            )
        )
    return DesiredData(stores=stores, tables=tuple(tables))


def _functions(route_set: RouteSet) -> tuple[DesiredFunctions, FunctionSources]:
    cloudfront = []
    folders: dict[str, Path] = {}
    stores: dict[str, str] = {}
    for name, doc in sorted(route_set.cloudfront_functions.items()):
        source = route_set.path(doc.spec.source)
        cloudfront.append(
            DesiredCloudFrontFunction(
                name=name, code=source.read_bytes(), runtime=doc.spec.runtime, comment=doc.spec.comment
            )
        )
        folders[name] = source.parent
        if doc.spec.key_value_store:
            stores[name] = doc.spec.key_value_store
    lambdas = []
    packages: dict[str, LambdaPackage] = {}
    configs: dict[str, Mapping[str, Any]] = {}
    for name, ldoc in sorted(route_set.lambda_functions.items()):
        folder = route_set.path(ldoc.spec.source)
        package = build_package(folder, ldoc.spec.config)
        packages[name] = package
        configs[name] = dict(ldoc.spec.config or {})
        folders[name] = folder
        lambdas.append(
            DesiredLambdaFunction(
                name=name,
                zip_sha256=package.code_sha256,
                runtime=ldoc.spec.runtime,
                handler=ldoc.spec.handler,
                role=ldoc.spec.role,
                memory=ldoc.spec.memory_size,
                timeout=ldoc.spec.timeout,
                keep_versions=ldoc.spec.keep_versions,
                content_digest=package.content_digest,
            )
        )
    entries = {name: dict(doc.spec.entries) for name, doc in route_set.stores.items()}
    return (
        DesiredFunctions(tuple(cloudfront), tuple(lambdas)),
        FunctionSources(packages, configs, folders, stores, entries),
    )


def _distribution_refs(route_set: RouteSet) -> tuple[DistributionRefs, ...]:
    out = []
    for name, doc in sorted(route_set.distributions.items()):
        sel = doc.spec.selector
        behaviors = []
        for behavior in doc.spec.behaviors:
            functions: dict[str, str] = {}
            lambdas: dict[str, tuple[str, bool]] = {}
            for event, assoc in behavior.associations().items():
                if assoc.function is not None:
                    functions[EVENT_TYPES[event]] = assoc.function
                elif assoc.lambda_ is not None:
                    lambdas[EVENT_TYPES[event]] = (assoc.lambda_, assoc.include_body)
            behaviors.append(
                BehaviorRefs(
                    path=behavior.path,
                    functions=functions,
                    lambdas=lambdas,
                    cache_policy=behavior.cache_policy,
                    origin_request_policy=behavior.origin_request_policy,
                )
            )
        out.append(
            DistributionRefs(
                name, DistributionSelector(id=sel.id, alias=sel.alias, comment=sel.comment), tuple(behaviors)
            )
        )
    return tuple(out)
