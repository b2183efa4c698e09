"""Stores and tables -> KeyValueStore and RoutingTable documents (+ JSONL bulk files)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.dynamodb import DynamoDbAdapter
from reconciler.aws.kvs import KvsAdapter
from reconciler.core.state import KeyType
from reconciler.importer.model import ImportError_
from reconciler.importer.values import UnsupportedValue, json_line, route_item
from reconciler.routes import KeyValueStore, RoutingTable

BULK_FOLDER = "tenants"  # relative to the routes folder, like the example repository


@dataclass
class ImportedData:
    stores: list[KeyValueStore] = field(default_factory=list)
    tables: list[RoutingTable] = field(default_factory=list)
    bulk_files: dict[str, str] = field(default_factory=dict)  # routes-relative path -> text
    origins: set[str] = field(default_factory=set)  # every origin value found
    notes: list[str] = field(default_factory=list)
    # (kind, name) -> where the document came from (ARN, ETag), for a comment above it.
    sources: dict[tuple[str, str], str] = field(default_factory=dict)


class DataImporter:
    def __init__(self, target: AwsTarget) -> None:
        self._kvs = KvsAdapter(target)
        self._cf = make_client("cloudfront", target)
        self._ddb = DynamoDbAdapter(target)

    def store_names_by_arn(self) -> dict[str, str]:
        """Every store of the account, ARN -> name (a function names its store by ARN)."""
        out: dict[str, str] = {}
        marker: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Marker": marker} if marker else {}
            listing = self._cf.list_key_value_stores(**kwargs)["KeyValueStoreList"]
            for store in listing.get("Items") or []:
                out[str(store["ARN"])] = str(store["Name"])
            marker = listing.get("NextMarker")
            if not marker:
                return out

    def store(self, name: str, into: ImportedData) -> None:
        seen = self._kvs.observe(name)
        if not seen.exists:
            raise ImportError_(f"KeyValueStore {name} does not exist")
        described = self._describe_store(name)
        comment = str(described.get("Comment") or "")
        # The reconciler's own placeholder says nothing a reviewer needs.
        comment = "" if comment.startswith("managed by reconciler") else comment[:128]
        spec: dict[str, Any] = {"entries": dict(sorted(seen.entries.items()))}
        if comment:
            spec["comment"] = comment
        into.stores.append(KeyValueStore.model_validate({"metadata": {"name": name}, "spec": spec}))
        into.origins.update(seen.entries.values())
        into.sources[("KeyValueStore", name)] = (
            f"KeyValueStore {name}: {described.get('ARN', '(ARN not readable)')}, "
            f"ETag {described.get('ETag', '?')}, {len(seen.entries)} entries"
        )

    def _describe_store(self, name: str) -> dict[str, Any]:
        try:
            described = self._cf.describe_key_value_store(Name=name)
        except ClientError:
            return {}
        return {**described["KeyValueStore"], "ETag": described.get("ETag", "?")}

    def table(
        self, name: str, origin_attributes: Sequence[str], inline_max: int, into: ImportedData
    ) -> None:
        seen = self._ddb.observe(name)
        if not seen.exists or seen.key_schema is None:
            raise ImportError_(f"DynamoDB table {name} does not exist")
        schema = seen.key_schema
        for key in (schema.partition, schema.sort):
            if key is not None and key.type is KeyType.B:
                raise ImportError_(
                    f"table {name}: key attribute {key.name} is binary (B); route files "
                    "declare text (S) or number (N) keys only"
                )
        key_names = [k.name for k in (schema.partition, schema.sort) if k is not None]
        try:
            items = [
                _keys_first(route_item(item, f"table {name} item {key}"), key_names)
                for key, item in sorted(seen.items.items())
            ]
        except UnsupportedValue as exc:
            raise ImportError_(str(exc)) from exc
        present = [a for a in origin_attributes if items and all(a in i for i in items)]
        missing = [a for a in origin_attributes if a not in present]
        if missing and items:
            into.notes.append(
                f"table {name}: not every item has {', '.join(missing)}; those attributes are "
                "not declared as origin attributes (use --origin-attribute to name the right ones)"
            )
        for item in items:
            into.origins.update(str(item[a]) for a in present)
        spec: dict[str, Any] = {
            "partitionKey": {"name": schema.partition.name, "type": schema.partition.type.value},
            "sortKey": {"name": schema.sort.name, "type": schema.sort.type.value}
            if schema.sort
            else None,
            "originAttributes": present,
        }
        if len(items) > inline_max:
            path = f"{BULK_FOLDER}/{name}.jsonl"
            into.bulk_files[path] = "".join(json_line(item) + "\n" for item in items)
            spec["itemsFrom"] = [path]
        else:
            spec["items"] = items
        into.tables.append(RoutingTable.model_validate({"metadata": {"name": name}, "spec": spec}))
        described = self._ddb.describe(name) or {}
        into.sources[("RoutingTable", name)] = (
            f"DynamoDB table {name}: {described.get('TableArn', '(ARN not readable)')}, "
            f"{len(items)} items"
        )


def _keys_first(item: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The key attributes first (partition, sort), then the rest by name: how a person
    writes an item, and how the table is read."""
    return {**{k: item[k] for k in keys if k in item}, **{k: v for k, v in item.items() if k not in keys}}
