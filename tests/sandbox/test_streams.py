"""DynamoDB Streams a stock boto3 client can follow (issue 18.2, sandbox side).

The reconciler will read a KEYS_ONLY stream on the managed table to notice drift in
O(changes): enabling it, reading every shard from TRIM_HORIZON, following parents before
children after a split, and falling back to a scan when trimmed or expired. Each of
those is exercised here over the wire, the hours AWS takes made instant by the hooks.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox._clients import stock_boto3


def _table(aws: Any, name: str = "routes", stream: bool = True) -> tuple[Any, Any]:
    ddb = stock_boto3(aws.server, "dynamodb")
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}}
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "tenantId", "KeyType": "HASH"},
            {"AttributeName": "accountId", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "tenantId", "AttributeType": "S"},
            {"AttributeName": "accountId", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **(spec if stream else {}),
    )
    return ddb, stock_boto3(aws.server, "dynamodbstreams")


def _item(tenant: str, account: str = "1", backend: str = "a.example.com") -> dict[str, Any]:
    return {
        "tenantId": {"S": tenant},
        "accountId": {"S": account},
        "defaultBackend": {"S": backend},
    }


def _stream_arn(ddb: Any, table: str = "routes") -> str:
    return str(ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"])


def _read_shard(streams: Any, arn: str, shard_id: str, kind: str = "TRIM_HORIZON") -> list[Any]:
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=kind)[
        "ShardIterator"
    ]
    records = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=2)
        records += page["Records"]
        if not page["Records"] and "NextShardIterator" in page:
            break  # an open shard: caught up
        iterator = page.get("NextShardIterator")
    return records


def _keys(records: list[Any]) -> list[tuple[str, str]]:
    return [(r["eventName"], r["dynamodb"]["Keys"]["tenantId"]["S"]) for r in records]


def test_a_keys_only_stream_records_batch_writes_and_updates_in_order(aws: Any) -> None:
    ddb, streams = _table(aws)
    ddb.batch_write_item(
        RequestItems={"routes": [{"PutRequest": {"Item": _item(t)}} for t in ("acme", "umbrella")]}
    )
    ddb.put_item(TableName="routes", Item=_item("acme"))  # unchanged: AWS writes no record
    ddb.update_item(
        TableName="routes",
        Key={"tenantId": {"S": "acme"}, "accountId": {"S": "1"}},
        UpdateExpression="SET defaultBackend = :b",
        ExpressionAttributeValues={":b": {"S": "b.example.com"}},
    )
    ddb.batch_write_item(
        RequestItems={"routes": [{"DeleteRequest": {"Key": {"tenantId": {"S": "umbrella"}, "accountId": {"S": "1"}}}}]}
    )  # fmt: skip
    arn = _stream_arn(ddb)
    described = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert (described["StreamStatus"], described["StreamViewType"]) == ("ENABLED", "KEYS_ONLY")
    (shard,) = described["Shards"]
    records = _read_shard(streams, arn, shard["ShardId"])
    assert _keys(records) == [
        ("INSERT", "acme"), ("INSERT", "umbrella"), ("MODIFY", "acme"), ("REMOVE", "umbrella"),
    ]  # fmt: skip
    first = records[0]
    assert set(first["dynamodb"]) == {
        "ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType",
    }  # KEYS_ONLY: no images  # fmt: skip
    assert (first["eventVersion"], first["eventSource"], first["awsRegion"]) == (
        "1.1", "aws:dynamodb", "us-east-1",
    )  # fmt: skip
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers)
    # AT / AFTER a sequence number, and LATEST, position as documented.
    at = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(numbers[2]),
    )["ShardIterator"]  # fmt: skip
    assert _keys(streams.get_records(ShardIterator=at)["Records"])[0] == ("MODIFY", "acme")
    after = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=str(numbers[2]),
    )["ShardIterator"]  # fmt: skip
    assert _keys(streams.get_records(ShardIterator=after)["Records"]) == [("REMOVE", "umbrella")]
    latest = _read_shard(streams, arn, shard["ShardId"], "LATEST")
    assert latest == []


def test_update_table_enables_a_stream_and_a_disabled_one_can_be_enabled_again(aws: Any) -> None:
    ddb, streams = _table(aws, stream=False)
    assert "LatestStreamArn" not in ddb.describe_table(TableName="routes")["Table"]
    ddb.update_table(
        TableName="routes",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    first = _stream_arn(ddb)
    ddb.update_table(TableName="routes", StreamSpecification={"StreamEnabled": False})
    assert (
        streams.describe_stream(StreamArn=first)["StreamDescription"]["StreamStatus"] == "DISABLED"
    )
    ddb.update_table(
        TableName="routes",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    assert _stream_arn(ddb) != first
    with pytest.raises(ClientError) as again:
        ddb.update_table(
            TableName="routes",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
    assert again.value.response["Error"]["Code"] == "ValidationException"


def test_a_split_closes_the_parent_and_children_carry_on(aws: Any) -> None:
    ddb, streams = _table(aws)
    ddb.put_item(TableName="routes", Item=_item("before"))
    aws.server.hooks.stream_event("routes", "split")
    for tenant in ("after-1", "after-2", "after-3", "after-4"):
        ddb.put_item(TableName="routes", Item=_item(tenant))
    arn = _stream_arn(ddb)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    parent, *children = shards
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert [c["ParentShardId"] for c in children] == [parent["ShardId"]] * 2
    assert _keys(_read_shard(streams, arn, parent["ShardId"])) == [("INSERT", "before")]
    later = [k for c in children for k in _keys(_read_shard(streams, arn, c["ShardId"]))]
    assert sorted(later) == [("INSERT", f"after-{i}") for i in range(1, 5)]
    only_children = streams.describe_stream(
        StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": parent["ShardId"]}
    )["StreamDescription"]["Shards"]
    assert [c["ShardId"] for c in only_children] == [c["ShardId"] for c in children]


def _errors(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call()
    response: Any = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_trimmed_records_and_expired_iterators_fail_as_documented(aws: Any) -> None:
    ddb, streams = _table(aws)
    ddb.put_item(TableName="routes", Item=_item("old"))
    arn = _stream_arn(ddb)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    old = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    number = streams.get_records(ShardIterator=old["ShardIterator"])["Records"][0]["dynamodb"][
        "SequenceNumber"
    ]
    request = urllib.request.Request(
        f"{aws.endpoint_url}/_sandbox/streams", method="POST",
        data=json.dumps({"table": "routes", "action": "trim"}).encode(),
    )  # fmt: skip
    assert urllib.request.urlopen(request).status == 200  # the record is now 24 hours old
    assert _errors(lambda: streams.get_records(ShardIterator=old["ShardIterator"])) == (
        "TrimmedDataAccessException", 400,
    )  # fmt: skip
    assert _errors(lambda: streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=number
    )) == ("TrimmedDataAccessException", 400)  # fmt: skip
    ddb.put_item(TableName="routes", Item=_item("new"))
    assert _keys(_read_shard(streams, arn, shard)) == [("INSERT", "new")]  # the trim horizon
    fresh = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")
    aws.server.hooks.stream_event("routes", "expire-iterators")  # 15 minutes later
    assert _errors(lambda: streams.get_records(ShardIterator=fresh["ShardIterator"])) == (
        "ExpiredIteratorException", 400,
    )  # fmt: skip
    assert _errors(lambda: streams.get_shard_iterator(
        StreamArn=arn, ShardId="shardId-00000000000000000000-deadbeef", ShardIteratorType="LATEST"
    )) == ("ResourceNotFoundException", 400)  # fmt: skip
    assert _errors(lambda: streams.describe_stream(StreamArn=arn + "x")) == (
        "ResourceNotFoundException", 400,
    )  # fmt: skip
