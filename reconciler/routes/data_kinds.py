"""Documents that declare data: the tier -> origin KeyValueStore and the tenant table."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reconciler.routes.model_base import (
    API_VERSION,
    AwsName,
    Comment,
    Labels,
    RouteModel,
    StrictBool,
    StrictInt,
    TableName,
)

AttributeName = Annotated[str, Field(min_length=1, max_length=255)]


class PruneGuard(RouteModel):
    """How much one prune may delete before it needs explicit permission.

    A prune of a store or table holding N live keys may delete at most
    max(floor(maxDeleteFraction x N), minDeletesAllowed) of them, and may leave it empty
    only with allowEmpty: true. Both rules hold at once; `--allow-mass-delete` lifts them
    for one run.
    """

    max_delete_fraction: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            description="Share of the live keys one prune may delete: at most "
            "floor(maxDeleteFraction x live keys). Default 0.25.",
        ),
    ] = 0.25
    allow_empty: Annotated[
        StrictBool,
        Field(
            description="Whether a prune may leave the store or table empty. Default false. "
            "Emptying must also fit the share rule."
        ),
    ] = False
    min_deletes_allowed: Annotated[
        StrictInt,
        Field(
            ge=0,
            description="Deletes always allowed whatever the share (for small stores: one "
            "tier of three is 33 %). Default 0: the fraction alone is the rule.",
        ),
    ] = 0


class KeyValueStoreMetadata(RouteModel):
    name: AwsName
    labels: Labels = Field(default_factory=dict)


class KeyValueStoreSpec(RouteModel):
    comment: Comment = ""
    prune: StrictBool = False
    prune_guard: PruneGuard | None = None
    # Every value is an origin domain name: that is what the tier router reads.
    entries: dict[str, str] = Field(default_factory=dict)


class KeyValueStore(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["KeyValueStore"] = "KeyValueStore"
    metadata: KeyValueStoreMetadata
    spec: KeyValueStoreSpec


class KeyAttribute(RouteModel):
    name: AttributeName
    type: Literal["S", "N"] = "S"


def _key_shorthand(value: object) -> object:
    # `partitionKey: tenantId` is the common case; the mapping form adds the type.
    return {"name": value} if isinstance(value, str) else value


KeyAttributeField = Annotated[
    KeyAttribute, BeforeValidator(_key_shorthand, json_schema_input_type=str | KeyAttribute)
]


class RoutingTableMetadata(RouteModel):
    name: TableName
    labels: Labels = Field(default_factory=dict)


class RoutingTableSpec(RouteModel):
    table_name: TableName | None = None
    partition_key: KeyAttributeField = KeyAttribute(name="tenantId")
    sort_key: KeyAttributeField | None = KeyAttribute(name="accountId")
    # Attributes every item must carry, holding an origin domain name checked like KVS values.
    origin_attributes: list[AttributeName] = Field(default_factory=lambda: ["defaultBackend"])
    items: list[dict[str, Any]] = Field(default_factory=list)
    items_from: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    prune: StrictBool = False
    prune_guard: PruneGuard | None = None
    drift_detection: Annotated[
        Literal["auto", "stream", "scan"],
        Field(
            description="How resync passes find changes made outside the route files. "
            "stream: read the table's DynamoDB Stream (KEYS_ONLY is enough) and re-read only "
            "the items it names; enabled on the table if it has none (a planned change). "
            "scan: read the whole table every resync. auto (default): a table the "
            "reconciler creates gets a stream; an existing table's stream is used if it has "
            "one, and the table is never changed to get one. A full scan still runs every "
            "fullResyncInterval of the daemon, and whenever the stream cannot be followed."
        ),
    ] = "auto"

    @model_validator(mode="after")
    def _distinct_keys(self) -> RoutingTableSpec:
        if self.sort_key is not None and self.sort_key.name == self.partition_key.name:
            raise PydanticCustomError(
                "table-key-invalid", "partitionKey and sortKey must name different attributes"
            )
        return self


class RoutingTable(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["RoutingTable"] = "RoutingTable"
    metadata: RoutingTableMetadata
    spec: RoutingTableSpec

    @property
    def table_name(self) -> str:
        return self.spec.table_name or self.metadata.name
