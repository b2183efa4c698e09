"""DynamoDB routing table adapter: describe, create, scan (parallel segments), batch writes.

Writes are BatchWriteItem (last writer wins), not conditional writes: the reconciler owns
every declared item outright, so a concurrent writer's change to a declared item is drift
that the next pass corrects, and undeclared items are only touched by a guarded prune.
Items are kept in DynamoDB's wire form end to end; no (de)serialisation on the hot path.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import AlreadyExistsError, NotFoundError, RetryableError, translated
from reconciler.core.attribute_values import Item, ValueInterner, canonical_item
from reconciler.core.schedule import TableWrite
from reconciler.core.state import (
    ItemKey,
    KeyAttribute,
    KeySchema,
    KeyType,
    ObservedTable,
    item_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_MAX_KEYS = 100  # BatchGetItem: at most 100 keys a call
# One scan segment per this many bytes of table: big tables are read in parallel. Every
# segment holds a parsed 1 MB page in flight (~25 MB of Python objects); a full scan only
# runs at start and every few hours (the stream covers the rest), so memory wins over
# speed below 64 MB (AWS's guidance puts parallel scans at tables of 20 GB or more). At
# 100k items (9 MB) two segments raised the daemon's peak RSS by 47 MB.
SEGMENT_BYTES = 64 * 1024 * 1024
MAX_SEGMENTS = 8


class DynamoDbAdapter:
    def __init__(self, target: AwsTarget, unprocessed_attempts: int = 8) -> None:
        self._ddb: DynamoDBClient = make_client("dynamodb", target)
        self._unprocessed_attempts = unprocessed_attempts

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._ddb,)

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            with translated("DescribeTable"):
                return dict(self._ddb.describe_table(TableName=name)["Table"])
        except NotFoundError:
            return None

    def observe(
        self,
        name: str,
        described: Mapping[str, Any] | None = None,
        declared: Mapping[ItemKey, Item] | None = None,
    ) -> ObservedTable:
        """Every item (a Scan, in parallel segments for big tables).

        `declared`: the items the route files declare. A scanned item equal to its
        declaration is kept as the declared object (and key): the observation then holds
        only what differs, and "unchanged" is an identity check for the planner and for
        every later targeted pass. At 100k items that is one copy of the table in memory
        instead of two, never both at once."""
        table = described if described is not None else self.describe(name)
        if table is None:
            return ObservedTable(name=name, exists=False)
        schema = _key_schema(table)
        size = int(table.get("TableSizeBytes", 0) or 0)
        segments = max(1, min(MAX_SEGMENTS, size // SEGMENT_BYTES + 1))
        interner = ValueInterner()  # one shared value per distinct string: memory at 100k items
        mine = declared or {}
        keys = {k: k for k in mine}  # the declared key objects, to share them too

        def read(segment: int | None) -> dict[ItemKey, Item]:
            # Canonicalised page by page, so the raw pages do not pile up beside the result
            # (and nothing per item outlives its page but the entry in `out`).
            out: dict[ItemKey, Item] = {}
            for page in self._pages(name, segment, segments):
                for raw in page:
                    key = item_key(raw, schema)
                    same = mine.get(key)
                    if same is not None and same == raw:
                        out[keys[key]] = same
                    else:
                        item = canonical_item(raw, interner)
                        out[item_key(item, schema)] = item
            return out

        if segments == 1:
            items = read(None)
        else:
            with ThreadPoolExecutor(max_workers=segments) as pool:
                parts = list(pool.map(read, range(segments)))
            items = parts[0]
            for part in parts[1:]:
                items.update(part)
            del parts
        keys.clear()
        return ObservedTable(
            name=name,
            exists=True,
            key_schema=schema,
            items=items,
            digest=table_digest(items),
            stream_arn=stream_arn(table),
        )

    def get_items(
        self, name: str, schema: KeySchema, keys: Sequence[Item], interner: ValueInterner
    ) -> dict[ItemKey, Item]:
        """The items with these keys (absent ones are left out): BatchGetItem, 100 keys a
        call, strongly consistent; UnprocessedKeys are asked again with back-off."""
        found: dict[ItemKey, Item] = {}
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            pending: dict[str, Any] = {
                name: {"Keys": list(keys[start : start + BATCH_GET_MAX_KEYS]), "ConsistentRead": True}
            }
            for attempt in range(self._unprocessed_attempts):
                with translated("BatchGetItem", subject=f"table {name}"):
                    resp = self._ddb.batch_get_item(RequestItems=pending)
                for raw in resp.get("Responses", {}).get(name, []):
                    item = canonical_item(raw, interner)  # type: ignore[arg-type]
                    found[item_key(item, schema)] = item
                pending = dict(resp.get("UnprocessedKeys") or {})
                if not pending:
                    break
                time.sleep(min(5.0, 0.05 * 2**attempt))
            if pending:
                raise RetryableError(
                    f"table {name}: keys still unprocessed after {self._unprocessed_attempts} "
                    "BatchGetItem attempts",
                    "UnprocessedKeys",
                )
        return found

    def enable_stream(self, name: str) -> None:
        """UpdateTable: a KEYS_ONLY stream (the keys are all the reconciler reads)."""
        with translated("UpdateTable", subject=f"table {name}"):
            self._ddb.update_table(
                TableName=name,
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
            )

    def _pages(self, name: str, segment: int | None, total: int) -> Iterator[list[dict[str, Any]]]:
        kwargs: dict[str, Any] = {"TableName": name, "ConsistentRead": True}
        if segment is not None:
            kwargs.update(Segment=segment, TotalSegments=total)
        with translated("Scan", subject=f"table {name}"):
            for page in self._ddb.get_paginator("scan").paginate(**kwargs):
                yield page.get("Items", [])

    def create(self, name: str, schema: KeySchema, stream: bool = False) -> None:
        """CreateTable (on demand, with a KEYS_ONLY stream when `stream`); wait_active()
        before writing items."""
        attrs = [schema.partition] + ([schema.sort] if schema.sort else [])
        key_schema = [{"AttributeName": schema.partition.name, "KeyType": "HASH"}]
        if schema.sort:
            key_schema.append({"AttributeName": schema.sort.name, "KeyType": "RANGE"})
        # ResourceInUseException on CreateTable: the table exists (our own lost create, or
        # another writer); elsewhere the same code means "busy".
        with translated(
            "CreateTable", {"ResourceInUseException": AlreadyExistsError}, subject=f"table {name}"
        ):
            self._ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=key_schema,  # type: ignore[arg-type]
                AttributeDefinitions=[
                    {"AttributeName": a.name, "AttributeType": a.type.value} for a in attrs
                ],
                Tags=[{"Key": "managed-by", "Value": "edge-routing-reconciler"}],
                StreamSpecification=(
                    {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
                    if stream
                    else {"StreamEnabled": False}
                ),
            )

    def wait_active(self, name: str, timeout: float = 300.0) -> None:
        with translated("DescribeTable", subject=f"table {name}"):
            self._ddb.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": int(timeout)}
            )

    def write(self, batch: TableWrite) -> None:
        """One BatchWriteItem; UnprocessedItems are re-sent with exponential backoff."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch.puts]
        requests += [{"DeleteRequest": {"Key": key}} for key in batch.deletes]
        pending: dict[str, list[dict[str, Any]]] = {batch.table: requests}

        def send() -> dict[str, list[dict[str, Any]]]:
            nonlocal pending
            with translated("BatchWriteItem", subject=f"table {batch.table}"):
                resp = self._ddb.batch_write_item(RequestItems=pending)  # type: ignore[arg-type]
            pending = dict(resp.get("UnprocessedItems") or {})  # type: ignore[arg-type]
            return pending

        retrying = Retrying(
            retry=retry_if_result(bool),
            stop=stop_after_attempt(self._unprocessed_attempts),
            wait=wait_exponential(multiplier=0.05, max=5),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else pending,
        )
        left = retrying(send)
        if left:
            count = sum(len(v) for v in left.values())
            raise RetryableError(
                f"table {batch.table}: {count} items still unprocessed after "
                f"{self._unprocessed_attempts} attempts",
                "UnprocessedItems",
            )


def stream_arn(described: Mapping[str, Any]) -> str | None:
    """The table's enabled stream (any view type names the changed keys), else None."""
    spec = described.get("StreamSpecification") or {}
    if not spec.get("StreamEnabled"):
        return None
    arn = described.get("LatestStreamArn")
    return str(arn) if arn else None


def key_of(item: Mapping[str, Any], schema: KeySchema) -> Item:
    """The key attributes of an item, in wire form (what BatchGetItem asks for)."""
    return {name: item[name] for name in schema.names}


def observed_items(pages: Iterable[Iterable[Mapping[str, Any]]], interner: ValueInterner) -> list[Item]:
    """Scan pages (boto3's wire form) -> canonical items sharing their values."""
    return [canonical_item(raw, interner) for page in pages for raw in page]


def table_digest(items: Mapping[ItemKey, Item]) -> str:
    """What a saved plan compares to tell that the table changed since it was read."""
    digest = hashlib.sha256()
    for key in sorted(items):
        digest.update(json.dumps([key, items[key]], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _key_schema(table: Mapping[str, Any]) -> KeySchema:
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    hash_key = next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "RANGE"), None)
    return KeySchema(
        partition=KeyAttribute(hash_key, KeyType(types[hash_key])),
        sort=KeyAttribute(range_key, KeyType(types[range_key])) if range_key else None,
    )
