"""The set of document kinds, discriminated by `kind`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from reconciler.routes.data_kinds import KeyValueStore, RoutingTable
from reconciler.routes.distribution_kind import Distribution
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.policy_kind import ReconcilerPolicy

RouteDocument = (
    KeyValueStore
    | RoutingTable
    | CloudFrontFunction
    | LambdaEdgeFunction
    | Distribution
    | ReconcilerPolicy
)

DOCUMENT_MODELS: dict[str, type[RouteDocument]] = {
    model.model_fields["kind"].default: model
    for model in (
        KeyValueStore,
        RoutingTable,
        CloudFrontFunction,
        LambdaEdgeFunction,
        Distribution,
        ReconcilerPolicy,
    )
}

ROUTE_DOCUMENT_ADAPTER: TypeAdapter[RouteDocument] = TypeAdapter(
    Annotated[RouteDocument, Field(discriminator="kind")]
)
