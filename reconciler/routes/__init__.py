"""Route files: the declarative model of edge routing, its validation and its JSON Schema.

Public face (the planner codes against this, nothing else):

    from reconciler.routes import load_route_set, RouteSetInvalid
    try:
        route_set = load_route_set(Path("routes"))
    except RouteSetInvalid as invalid:
        for error in invalid.errors: print(error.render())

    loader = RouteSetLoader(Path("routes"))     # a long-lived process: load() again and
    route_set = loader.load()                   # again; unchanged files are not re-read

Models import neither boto3 nor anything that talks to AWS.
"""

from __future__ import annotations

from reconciler.routes.data_kinds import (
    KeyAttribute,
    KeyValueStore,
    KeyValueStoreSpec,
    PruneGuard,
    RoutingTable,
    RoutingTableSpec,
)
from reconciler.routes.distribution_kind import (
    EVENT_TYPES,
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    Behavior,
    Distribution,
    DistributionSelector,
    DistributionSpec,
    EdgeAssociation,
)
from reconciler.routes.documents import DOCUMENT_MODELS, RouteDocument
from reconciler.routes.dump import dump_documents
from reconciler.routes.errors import RouteError, RouteSetInvalid
from reconciler.routes.function_kinds import (
    CloudFrontFunction,
    CloudFrontFunctionSpec,
    LambdaEdgeFunction,
    LambdaEdgeFunctionSpec,
)
from reconciler.routes.items import Item, ItemKey
from reconciler.routes.json_schema import route_document_schema
from reconciler.routes.loader import LoadLimits, RouteSetLoader, load_route_set
from reconciler.routes.model_base import API_VERSION
from reconciler.routes.policy_kind import ReconcilerPolicy, ReconcilerPolicySpec
from reconciler.routes.route_set import LoadedTable, RouteSet, SourceRef
from reconciler.routes.table_loading import ItemSource
from reconciler.routes.yaml_reader import YamlLimits

__all__ = [
    "API_VERSION",
    "DOCUMENT_MODELS",
    "EVENT_TYPES",
    "MANAGED_CACHE_POLICIES",
    "MANAGED_ORIGIN_REQUEST_POLICIES",
    "Behavior",
    "CloudFrontFunction",
    "CloudFrontFunctionSpec",
    "Distribution",
    "DistributionSelector",
    "DistributionSpec",
    "EdgeAssociation",
    "Item",
    "ItemKey",
    "ItemSource",
    "KeyAttribute",
    "KeyValueStore",
    "KeyValueStoreSpec",
    "LambdaEdgeFunction",
    "LambdaEdgeFunctionSpec",
    "LoadLimits",
    "LoadedTable",
    "PruneGuard",
    "ReconcilerPolicy",
    "ReconcilerPolicySpec",
    "RouteDocument",
    "RouteError",
    "RouteSet",
    "RouteSetInvalid",
    "RouteSetLoader",
    "RoutingTable",
    "RoutingTableSpec",
    "SourceRef",
    "YamlLimits",
    "dump_documents",
    "load_route_set",
    "route_document_schema",
]
