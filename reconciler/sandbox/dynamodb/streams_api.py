"""The DynamoDB Streams operations and the stream switches, wired into moto 5.2.5.

streams.py holds the model; this module replaces moto's stream on a table
(Table.set_stream_specification), lets a disabled stream be enabled again (moto refuses
although the stream is off) and refuses an enabled one as AWS does (ValidationException
"Table already has an enabled stream"), and answers DescribeStream, GetShardIterator and
GetRecords from the model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from reconciler.sandbox.dynamodb.streams import (
    MAX_RECORDS,
    ResourceNotFound,
    StreamLog,
    Validation,
    decode,
)

_LOGS_ATTR = "_reconciler_streams"  # every stream the table had: {label: StreamLog}


def _set_stream_specification(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def set_stream_specification(self: Table, streams: dict[str, Any] | None) -> None:
        original(self, streams)
        current = self.stream_shard
        if self.stream_specification and self.stream_specification.get("StreamEnabled"):
            log = StreamLog(self)
            getattr_logs(self)[log.label] = log
            self.stream_shard = log  # type: ignore[assignment]  # moto's writes call add()
            self.latest_stream_label = log.label
        elif isinstance(current, StreamLog):  # disabled: readable, no new records
            current.enabled = False
            self.stream_shard = current

    return set_stream_specification


def getattr_logs(table: Table) -> dict[str, StreamLog]:
    logs: dict[str, StreamLog] | None = getattr(table, _LOGS_ATTR, None)
    if logs is None:
        logs = {}
        setattr(table, _LOGS_ATTR, logs)
    return logs


def _update_table_streams(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def update_table_streams(self: DynamoDBBackend, table: Table, spec: dict[str, Any]) -> None:
        stream = table.stream_shard
        enabled = isinstance(stream, StreamLog) and stream.enabled
        if spec.get("StreamEnabled") and enabled:
            # What AWS answers (seen in aws-controllers-k8s/community#1000, status 400);
            # moto says ResourceInUseException "Cannot enable stream".
            raise MockValidationException(
                f"Table already has an enabled stream: TableName: {table.name}"
            )
        table.set_stream_specification(spec)

    return update_table_streams


def stream_for(arn: str) -> StreamLog:
    """The stream an ARN names (arn:aws:dynamodb:<region>:<account>:table/<t>/stream/<l>)."""
    try:
        _, _, _, region, account, resource = arn.split(":", 5)
        _, table_name, _, label = resource.split("/", 3)
        table = dynamodb_backends[account][region].get_table(table_name)
    except (ValueError, KeyError, LookupError) as exc:
        raise ResourceNotFound(f"Requested resource not found: Stream: {arn} not found") from exc
    except Exception as exc:  # moto's ResourceNotFoundException for a missing table
        raise ResourceNotFound(f"Requested resource not found: Stream: {arn} not found") from exc
    log = getattr_logs(table).get(label)
    if log is None:
        raise ResourceNotFound(f"Requested resource not found: Stream: {arn} not found")
    return log


def event(table: Table, action: str) -> None:
    stream = table.stream_shard
    if not isinstance(stream, StreamLog):
        raise ValueError(f"table {table.name} has no stream")
    stream.event(action)


def describe_stream(self: DynamoDBStreamsHandler) -> ActionResult:
    log = stream_for(self._get_param("StreamArn"))
    shard_filter = self._get_param("ShardFilter") or {}
    child_of = shard_filter.get("ShardId") if shard_filter.get("Type") == "CHILD_SHARDS" else None
    described = log.describe(
        self._get_param("Limit"), self._get_param("ExclusiveStartShardId"), child_of
    )
    return ActionResult({"StreamDescription": described})


def get_shard_iterator(self: DynamoDBStreamsHandler) -> ActionResult:
    log = stream_for(self._get_param("StreamArn"))
    iterator = log.iterator(
        self._get_param("ShardId"),
        self._get_param("ShardIteratorType"),
        self._get_param("SequenceNumber"),
    )
    return ActionResult({"ShardIterator": iterator})


def get_records(self: DynamoDBStreamsHandler) -> ActionResult:
    token = decode(self._get_param("ShardIterator") or "")
    limit = self._get_param("Limit") or MAX_RECORDS
    if not 1 <= int(limit) <= MAX_RECORDS:
        raise Validation(f"Limit must be between 1 and {MAX_RECORDS}")
    return ActionResult(stream_for(token["arn"]).records(token, int(limit)))


def install() -> None:
    table: Any = Table
    table.set_stream_specification = _set_stream_specification(table.set_stream_specification)
    backend: Any = DynamoDBBackend
    backend.update_table_streams = _update_table_streams(backend.update_table_streams)
    for method in (describe_stream, get_shard_iterator, get_records):
        setattr(DynamoDBStreamsHandler, method.__name__, method)
