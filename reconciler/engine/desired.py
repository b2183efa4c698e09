"""Route set -> the core's desired values. Reads function sources and builds packages; no AWS.

Besides the values, each container (store, table, function, distribution) gets a digest of
what the route files declare for it: the ledger compares it with the digest of the last
convergence to tell new input from drift, container by container.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.core.attribute_values import ValueInterner, item_from_python
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
from reconciler.routes import EVENT_TYPES, RouteSet
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
        digests[container_key(ResourceKind.KEY_VALUE_STORE, store.name)] = _digest(
            [sorted(store.entries.items()), store.prune, store.comment]
        )
    for table in data.tables:
        digests[container_key(ResourceKind.TABLE, table.name)] = _table_digest(table)
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


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _table_digest(table: DesiredTable) -> str:
    digest = hashlib.sha256(repr((table.key_schema, table.prune)).encode())
    for key in sorted(table.items):
        digest.update(repr((key, table.items[key])).encode())
    return digest.hexdigest()[:16]


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
        items: dict[ItemKey, dict[str, dict[str, object]]] = {}
        interner = ValueInterner()  # shared values: a fraction of the memory at 100k items
        for item in loaded.items.values():
            wire = item_from_python(item, interner)
            items[item_key(wire, schema)] = wire
        tables.append(
            DesiredTable(
                name=loaded.table_name,
                key_schema=schema,
                items=items,
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
