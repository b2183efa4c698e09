"""Route set -> the core's desired-state values. Reads function sources; no AWS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.core.attribute_values import ValueInterner, item_from_python
from reconciler.core.functions import (
    DesiredCloudFrontFunction,
    DesiredFunctions,
    DesiredLambdaFunction,
)
from reconciler.core.state import (
    DesiredData,
    DesiredStore,
    DesiredTable,
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


def _guard(guard: RoutePruneGuard, allow_mass_delete: bool) -> PruneGuard:
    return PruneGuard(
        max_delete_fraction=guard.max_delete_fraction,
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
            )
        )
    return DesiredData(stores=stores, tables=tuple(tables))


@dataclass(frozen=True)
class FunctionSources:
    """What the lifecycle needs besides the desired values: built packages, test folders."""

    desired: DesiredFunctions
    packages: Mapping[str, LambdaPackage]
    cloudfront_folders: Mapping[str, Path]
    cloudfront_stores: Mapping[str, str]  # function -> declared store name


def function_sources(route_set: RouteSet, store_arns: Mapping[str, str]) -> FunctionSources:
    """Desired functions; a function's store ARN is known only once the store exists
    (None before: the apply re-derives this after the stores are created)."""
    cloudfront = []
    folders: dict[str, Path] = {}
    stores: dict[str, str] = {}
    for name, doc in sorted(route_set.cloudfront_functions.items()):
        source = route_set.path(doc.spec.source)
        store = doc.spec.key_value_store
        cloudfront.append(
            DesiredCloudFrontFunction(
                name=name,
                code=source.read_bytes(),
                runtime=doc.spec.runtime,
                comment=doc.spec.comment,
                kvs_arn=store_arns.get(store) if store else None,
            )
        )
        folders[name] = source.parent
        if store:
            stores[name] = store
    lambdas = []
    packages: dict[str, LambdaPackage] = {}
    for name, ldoc in sorted(route_set.lambda_functions.items()):
        package = build_package(route_set.path(ldoc.spec.source), ldoc.spec.config)
        packages[name] = package
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
            )
        )
    return FunctionSources(
        DesiredFunctions(tuple(cloudfront), tuple(lambdas)), packages, folders, stores
    )


def with_store_arns(sources: FunctionSources, store_arns: Mapping[str, str]) -> FunctionSources:
    cloudfront = tuple(
        replace(fn, kvs_arn=store_arns.get(sources.cloudfront_stores[fn.name]))
        if fn.name in sources.cloudfront_stores
        else fn
        for fn in sources.desired.cloudfront
    )
    return replace(sources, desired=replace(sources.desired, cloudfront=cloudfront))


@dataclass(frozen=True)
class DistributionRefs:
    name: str
    selector: DistributionSelector
    behaviors: tuple[BehaviorRefs, ...]


def distribution_refs(route_set: RouteSet) -> tuple[DistributionRefs, ...]:
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
