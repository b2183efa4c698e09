"""Following a table's DynamoDB Stream: which item keys changed since the last read.

Drift in a table is found in O(changes): a resync reads the stream from where the last
read stopped and re-reads only the items it names (BatchGetItem), instead of scanning the
whole table. KEYS_ONLY is enough; any view type carries the keys.

A cursor holds, per shard, the next iterator (valid 15 minutes) and the last sequence
number read (to make a new iterator when it expired). Shards close and split: a shard read
to its end (no NextShardIterator) hands over to its children (ParentShardId), read from
TRIM_HORIZON. Whenever the place in the stream cannot be kept (the stream is gone or
disabled, the data was trimmed after 24 hours, an iterator expired before any record was
read) the reader raises StreamLost and the caller falls back to a full scan.

GetRecords may answer an empty page while records lie further on in a shard (AWS: "it might
take multiple calls to get to a portion of the shard that contains stream records"); the
reader stops at the first empty page of an open shard and goes on from there next time, so
a change can be found one resync late, never lost. The daemon's full resync (hours) is
the backstop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import FatalError, NotFoundError, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

RECORDS_PER_CALL = 1000  # GetRecords: at most 1000 records a call
MAX_PAGES_PER_READ = 200  # a read this long picks up the rest next time


class StreamLost(Exception):
    """The reader lost its place in the stream: fall back to a full scan."""


@dataclass(frozen=True)
class ShardCursor:
    shard_id: str
    iterator: str | None = None  # where the next GetRecords starts (15-minute validity)
    sequence: str | None = None  # the last sequence number read


@dataclass(frozen=True)
class StreamCursor:
    stream_arn: str
    shards: tuple[ShardCursor, ...]


@dataclass(frozen=True)
class StreamChanges:
    keys: tuple[Mapping[str, Any], ...]  # wire-form keys of the items that changed
    cursor: StreamCursor
    calls: int  # requests sent (what a converged resync costs)


class StreamReader:
    def __init__(self, target: AwsTarget) -> None:
        self._streams: DynamoDBStreamsClient = make_client("dynamodbstreams", target)

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._streams,)

    def start(self, stream_arn: str) -> StreamCursor:
        """A cursor at the end of every open shard: what happens from now on is read."""
        shards = self._shards(stream_arn)
        cursors = []
        for shard in shards:
            if "EndingSequenceNumber" in shard.get("SequenceNumberRange", {}):
                continue  # closed: nothing new will be written to it
            cursors.append(
                ShardCursor(shard["ShardId"], self._iterator(stream_arn, shard["ShardId"], "LATEST"))
            )
        return StreamCursor(stream_arn, tuple(cursors))

    def read(self, cursor: StreamCursor) -> StreamChanges:
        """Every key changed since `cursor`, and the cursor after them."""
        keys: list[Mapping[str, Any]] = []
        calls = 0
        todo = list(cursor.shards)
        done: list[ShardCursor] = []
        while todo:
            shard = todo.pop(0)
            shard, closed, sent = self._read_shard(cursor.stream_arn, shard, keys)
            calls += sent
            if closed:
                children = [
                    ShardCursor(
                        s["ShardId"], self._iterator(cursor.stream_arn, s["ShardId"], "TRIM_HORIZON")
                    )
                    for s in self._shards(cursor.stream_arn)
                    if s.get("ParentShardId") == shard.shard_id
                ]
                calls += 1 + len(children)
                todo += children
            else:
                done.append(shard)
        return StreamChanges(tuple(keys), StreamCursor(cursor.stream_arn, tuple(done)), calls)

    def _read_shard(
        self, stream_arn: str, shard: ShardCursor, keys: list[Mapping[str, Any]]
    ) -> tuple[ShardCursor, bool, int]:
        """Reads one shard until an empty page or its end; returns (cursor, closed, calls)."""
        iterator = shard.iterator
        calls = 0
        for _ in range(MAX_PAGES_PER_READ):
            if iterator is None:
                iterator = self._resume(stream_arn, shard)
                calls += 1
            calls += 1
            try:
                with translated("GetRecords", {"ExpiredIteratorException": _Expired}):
                    page = self._streams.get_records(ShardIterator=iterator, Limit=RECORDS_PER_CALL)
            except _Expired:
                iterator = None
                if shard.sequence is None:
                    raise StreamLost(f"shard {shard.shard_id}: iterator expired before any record") from None
                shard = replace(shard, iterator=None)
                continue
            except NotFoundError as exc:
                raise StreamLost(f"stream {stream_arn} is gone: {exc}") from exc
            except FatalError as exc:
                if exc.code == "TrimmedDataAccessException":
                    raise StreamLost(f"shard {shard.shard_id}: records trimmed (24 h)") from exc
                raise
            records = page.get("Records", [])
            for record in records:
                keys.append(record["dynamodb"]["Keys"])
                shard = replace(shard, sequence=record["dynamodb"]["SequenceNumber"])
            next_iterator = page.get("NextShardIterator")
            if next_iterator is None:
                return replace(shard, iterator=None), True, calls
            iterator = next_iterator
            shard = replace(shard, iterator=iterator)
            if not records:
                break
        return shard, False, calls

    def _resume(self, stream_arn: str, shard: ShardCursor) -> str:
        if shard.sequence is None:
            raise StreamLost(f"shard {shard.shard_id}: no place to resume from")
        return self._iterator(stream_arn, shard.shard_id, "AFTER_SEQUENCE_NUMBER", shard.sequence)

    def _iterator(
        self, stream_arn: str, shard_id: str, kind: str, sequence: str | None = None
    ) -> str:
        kwargs: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id, "ShardIteratorType": kind}
        if sequence is not None:
            kwargs["SequenceNumber"] = sequence
        try:
            with translated("GetShardIterator"):
                return str(self._streams.get_shard_iterator(**kwargs)["ShardIterator"])
        except NotFoundError as exc:
            raise StreamLost(f"stream {stream_arn} or shard {shard_id} is gone: {exc}") from exc
        except FatalError as exc:
            if exc.code == "TrimmedDataAccessException":
                raise StreamLost(f"shard {shard_id}: records trimmed (24 h)") from exc
            raise

    def _shards(self, stream_arn: str) -> list[Mapping[str, Any]]:
        shards: list[Mapping[str, Any]] = []
        start: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            try:
                with translated("DescribeStream"):
                    described = self._streams.describe_stream(**kwargs)["StreamDescription"]
            except NotFoundError as exc:
                raise StreamLost(f"stream {stream_arn} is gone: {exc}") from exc
            if described.get("StreamStatus") in ("DISABLING", "DISABLED"):
                raise StreamLost(f"stream {stream_arn} is {described['StreamStatus']}")
            shards += described.get("Shards", [])
            start = described.get("LastEvaluatedShardId")
            if not start:
                return shards


class _Expired(FatalError):
    """ExpiredIteratorException: handled inside the reader (a new iterator from the last
    sequence number), never seen by callers."""
