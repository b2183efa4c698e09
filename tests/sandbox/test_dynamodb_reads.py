"""DynamoDB reads that cost O(page) (issue 18.3) and answer what moto's own code answers.

The sandbox replaces moto's Scan walk (from the first item, every page) with a sorted key
index, and moto's model-driven writer with a direct JSON one for item answers. These
tests hold both to moto's semantics, over the wire and against moto's original code.
"""

from __future__ import annotations

import base64
import json
import random
from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox._clients import stock_boto3

EVERY_TYPE = {
    "tenantId": {"S": "acme"},
    "accountId": {"N": "1001"},
    "s": {"S": "text ünïcode"},
    "n": {"N": "-12.5e3"},
    "b": {"B": b"\x00\x01binary"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"\xff"]},
    "m": {"M": {"nested": {"L": [{"S": "v"}, {"N": "3"}, {"NULL": True}, {"BOOL": False}]}}},
    "l": {"L": [{"M": {"k": {"B": b"\x10"}}}]},
    "t": {"BOOL": True},
    "z": {"NULL": True},
}


def _table(aws: Any, name: str, range_type: str | None = "N") -> Any:
    ddb = stock_boto3(aws.server, "dynamodb")
    schema = [{"AttributeName": "tenantId", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "tenantId", "AttributeType": "S"}]
    if range_type:
        schema.append({"AttributeName": "accountId", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "accountId", "AttributeType": range_type})
    ddb.create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
    )
    return ddb


def _pages(ddb: Any, **kwargs: Any) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        page = ddb.scan(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if start is None:
            return pages


def _fill(ddb: Any, table: str, n: int, seed: int = 7) -> set[tuple[str, str]]:
    rng = random.Random(seed)
    keys = set()
    for start in range(0, n, 25):
        puts = []
        for i in range(start, min(n, start + 25)):
            key = (f"tenant-{rng.randrange(n // 3 + 1)}", str(i))
            keys.add(key)
            item = {
                "tenantId": {"S": key[0]},
                "accountId": {"N": key[1]},
                "v": {"S": "x" * (i % 50)},
            }
            puts.append({"PutRequest": {"Item": item}})
        ddb.batch_write_item(RequestItems={table: puts})
    return keys


def test_every_attribute_type_reads_back_exactly(aws: Any) -> None:
    ddb = _table(aws, "types")
    ddb.put_item(TableName="types", Item=EVERY_TYPE)
    scanned = ddb.scan(TableName="types")["Items"]
    got = ddb.get_item(
        TableName="types", Key={"tenantId": {"S": "acme"}, "accountId": {"N": "1001"}}
    )
    queried = ddb.query(
        TableName="types",
        KeyConditionExpression="tenantId = :t",
        ExpressionAttributeValues={":t": {"S": "acme"}},
    )["Items"]
    batched = ddb.batch_get_item(
        RequestItems={"types": {"Keys": [{"tenantId": {"S": "acme"}, "accountId": {"N": "1001"}}]}}
    )["Responses"]["types"]
    for answer in (scanned[0], got["Item"], queried[0], batched[0]):
        assert {k: _sorted_sets(v) for k, v in answer.items()} == {
            k: _sorted_sets(v) for k, v in EVERY_TYPE.items()
        }


def _sorted_sets(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    return {kind: sorted(inner) if kind in ("SS", "NS", "BS") else inner}


def test_the_direct_json_writer_writes_moto_s_document(aws: Any) -> None:
    # Both writers on one answer: moto's model-driven serializer and the direct one.
    from moto.core.responses import ActionContext
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model
    from moto.dynamodb.models.dynamo_type import Item

    from reconciler.sandbox.dynamodb.json_answers import WireResult

    service = get_service_model("dynamodb")
    item = Item(None, None, json.loads(json.dumps(EVERY_TYPE, default=_b64)))  # type: ignore[arg-type]
    answer = {"Items": [item.attrs], "Count": 1, "ScannedCount": 1}
    documents = []
    for operation in ("Scan", "ListTables"):  # ListTables takes moto's own path
        context = ActionContext(
            service,
            service.operation_model("Scan"),
            get_serializer_class("dynamodb", "json"),
            None,  # type: ignore[arg-type]
        )
        context.operation_model = _named(service.operation_model("Scan"), operation)
        _, _, body = WireResult(dict(answer)).execute_result(context)
        documents.append(json.loads(body))
    assert documents[0] == documents[1]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _named(model: Any, name: str) -> Any:
    class Renamed(type(model)):  # type: ignore[misc]
        @property
        def name(self) -> str:
            return name

    renamed = Renamed(model._operation_model, model._service_model, model.name)
    return renamed


@pytest.mark.parametrize("limit", [None, 1, 7, 50])
def test_pages_cover_every_item_once_in_a_stable_order(aws: Any, limit: int | None) -> None:
    ddb = _table(aws, "pages")
    keys = _fill(ddb, "pages", 120)
    kwargs: dict[str, Any] = {"TableName": "pages", **({"Limit": limit} if limit else {})}
    pages = _pages(ddb, **kwargs)
    seen = [(i["tenantId"]["S"], i["accountId"]["N"]) for page in pages for i in page]
    assert len(seen) == len(set(seen)) == len(keys) and set(seen) == keys
    if limit:
        assert all(len(page) <= limit for page in pages)
    assert seen == [
        (i["tenantId"]["S"], i["accountId"]["N"]) for p in _pages(ddb, **kwargs) for i in p
    ]


def test_parallel_segments_partition_the_table(aws: Any) -> None:
    ddb = _table(aws, "segments", range_type=None)
    for i in range(200):
        ddb.put_item(TableName="segments", Item={"tenantId": {"S": f"t{i}"}})
    parts = [
        {i["tenantId"]["S"] for p in _pages(ddb, TableName="segments", Segment=s, TotalSegments=4, Limit=9) for i in p}
        for s in range(4)
    ]  # fmt: skip
    assert sum(len(p) for p in parts) == 200 and set().union(*parts) == {
        f"t{i}" for i in range(200)
    }


def test_writes_between_pages_are_seen_as_on_a_live_table(aws: Any) -> None:
    ddb = _table(aws, "live", range_type=None)
    for i in range(20):
        ddb.put_item(TableName="live", Item={"tenantId": {"S": f"t{i:02d}"}})
    first = ddb.scan(TableName="live", Limit=5)
    ddb.delete_item(TableName="live", Key={"tenantId": {"S": "t10"}})
    ddb.put_item(TableName="live", Item={"tenantId": {"S": "t99"}})
    rest = _pages(ddb, TableName="live", ExclusiveStartKey=first["LastEvaluatedKey"])
    later = {i["tenantId"]["S"] for p in rest for i in p}
    assert "t10" not in later and "t99" in later
    assert not later & {i["tenantId"]["S"] for i in first["Items"]}


def test_the_index_scan_answers_what_moto_s_own_scan_answers(aws: Any) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    ddb = _table(aws, "same")
    _fill(ddb, "same", 150, seed=3)
    table = dynamodb_backends["123456789012"]["us-east-1"].get_table("same")
    original = Table.scan.__wrapped__  # type: ignore[attr-defined]
    start: dict[str, Any] | None = None
    for limit in (10, 33, None):
        ours = Table.scan(table, {}, limit, start)
        theirs = original(table, {}, limit, start)
        assert [i.to_json() for i in ours[0]] == [i.to_json() for i in theirs[0]]
        assert ours[1:] == theirs[1:]
        start = {k: v.to_json() for k, v in (ours[2] or {}).items()} or None


def test_table_size_bytes_and_item_count_are_current(aws: Any) -> None:
    ddb = _table(aws, "sized")
    assert ddb.describe_table(TableName="sized")["Table"]["TableSizeBytes"] == 0
    _fill(ddb, "sized", 90)
    described = ddb.describe_table(TableName="sized")["Table"]
    assert described["ItemCount"] == 90 and described["TableSizeBytes"] > 90 * 20
    ddb.update_item(
        TableName="sized",
        Key={"tenantId": {"S": "tenant-0"}, "accountId": {"N": "0"}},
        UpdateExpression="SET big = :b",
        ExpressionAttributeValues={":b": {"S": "y" * 1000}},
    )
    grown = ddb.describe_table(TableName="sized")["Table"]["TableSizeBytes"]
    assert grown >= described["TableSizeBytes"] + 1000
    assert Decimal(grown) > 0


def test_transactions_still_work_on_indexed_tables_with_streams(aws: Any) -> None:
    # moto copies every table for a transaction's rollback; the sandbox's index and
    # stream must survive the copy (a lock cannot be deep-copied).
    ddb = stock_boto3(aws.server, "dynamodb")
    ddb.create_table(
        TableName="tx",
        KeySchema=[{"AttributeName": "tenantId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tenantId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    ddb.put_item(TableName="tx", Item={"tenantId": {"S": "a"}})
    ddb.scan(TableName="tx")  # the index exists now
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "tx", "Item": {"tenantId": {"S": "b"}}}}]
    )
    with pytest.raises(Exception, match="TransactionCanceled"):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "tx", "Item": {"tenantId": {"S": "c"}},
                         "ConditionExpression": "attribute_exists(tenantId)"}},
            ]
        )  # fmt: skip
    assert sorted(i["tenantId"]["S"] for i in ddb.scan(TableName="tx")["Items"]) == ["a", "b"]
