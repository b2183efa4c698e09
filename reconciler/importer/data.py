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
        comment = self._comment(name)
        spec: dict[str, Any] = {"entries": dict(sorted(seen.entries.items()))}
        if comment:
            spec["comment"] = comment
        into.stores.append(KeyValueStore.model_validate({"metadata": {"name": name}, "spec": spec}))
        into.origins.update(seen.entries.values())

    def _comment(self, name: str) -> str:
        try:
            described = self._cf.describe_key_value_store(Name=name)["KeyValueStore"]
        except ClientError:
            return ""
        comment = str(described.get("Comment") or "")
        # The reconciler's own placeholder says nothing a reviewer needs.
        return "" if comment.startswith("managed by reconciler") else comment[:128]

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
        try:
            items = [
                route_item(item, f"table {name} item {key}")
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
