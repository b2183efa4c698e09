"""The DynamoDB patches, once per process, after checking moto still has what they wrap."""

from __future__ import annotations

import inspect

from reconciler.sandbox.dynamodb import json_answers, limits, scan, streams_api
from reconciler.sandbox.extensions import guarded_install


def check_extension_points() -> list[str]:
    """What moto no longer offers that this package builds on (empty when all is well)."""
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, StreamRecord, Table
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    problems = []
    expected = {
        (Table, "scan"): ("self", "filters", "limit", "exclusive_start_key", "filter_expression",
                          "index_name", "consistent_read", "projection_expression", "segments"),
        (Table, "put_item"): None,
        (Table, "delete_item"): ("self", "hash_key", "range_key"),
        (Table, "describe"): ("self", "base_key"),
        (Table, "_get_last_evaluated_key"): ("self", "last_result", "index_name"),
        (DynamoDBBackend, "update_item"): None,
        (responses.DynamoHandler, "batch_write_item"): ("self",),
        (Table, "set_stream_specification"): ("self", "streams"),
        (DynamoDBBackend, "update_table_streams"): ("self", "table", "stream_specification"),
        (StreamRecord, "__init__"): ("self", "table", "stream_type", "event_name", "old", "new", "seq"),
        (DynamoDBStreamsHandler, "describe_stream"): ("self",),
        (DynamoDBStreamsHandler, "get_shard_iterator"): ("self",),
        (DynamoDBStreamsHandler, "get_records"): ("self",),
    }  # fmt: skip
    for (owner, name), params in expected.items():
        target = getattr(owner, name, None)
        if target is None:
            problems.append(f"{owner.__name__}.{name} is gone")
            continue
        found = tuple(inspect.signature(inspect.unwrap(target)).parameters)
        if params is not None and found != params:
            problems.append(f"{owner.__name__}.{name}{found} is not {name}{params}")
    if RESULT_SIZE_LIMIT != 1000000:
        problems.append("moto's Scan page size (RESULT_SIZE_LIMIT) changed")
    if "md5_hash(self.hash_key.value" not in inspect.getsource(Item.is_within_segment):
        problems.append("moto's scan segment of an item is no longer the MD5 of its hash key")
    if "return DynamoResult(" not in inspect.getsource(responses.DynamoHandler.scan):
        problems.append("DynamoHandler.scan no longer answers a DynamoResult")
    if "self.stream_shard.add(" not in inspect.getsource(Table.put_item):
        problems.append("Table.put_item no longer writes stream records through stream_shard.add")
    return problems


def _patch() -> None:
    limits.install()
    scan.install()
    json_answers.install()
    streams_api.install()


install = guarded_install(
    "DynamoDB", "reconciler.sandbox.dynamodb", check_extension_points, _patch
)
