"""DynamoDB Streams a stock client can follow, shards and trimming included.

moto 5.2.5 keeps one shard per table for ever and answers an unknown shard or iterator
with a 500 (an assert, a KeyError); it writes a record for a PutItem that changed
nothing, refuses to enable a stream again once disabled, and stamps records
eventVersion 1.0 and region us-east-1. Here each table with a stream has a StreamLog
(in place of moto's StreamShard, so moto's writes, BatchWriteItem's and UpdateItem's
included, still call its add()); iterators are opaque tokens that carry their position;
the answers follow the DynamoDB Streams API reference:

- GetShardIterator: TRIM_HORIZON (the oldest untrimmed record), LATEST, AT_ / AFTER_
  SEQUENCE_NUMBER (a sequence number older than the trim point: TrimmedDataAccessException);
  an unknown stream or shard: ResourceNotFoundException.
- GetRecords: at most Limit (1-1000) records; NextShardIterator is absent once a closed
  shard is read to its end ("If set to null, the shard has been closed"); an iterator
  into trimmed records: TrimmedDataAccessException; an expired one: ExpiredIteratorException.
- DescribeStream: every shard with ParentShardId and SequenceNumberRange (Ending... once
  closed), ShardFilter CHILD_SHARDS, Limit / ExclusiveStartShardId paging.
- No record for a PutItem or UpdateItem that leaves the item as it was (Developer Guide:
  "DynamoDB Streams does not write a stream record for that operation"); eventVersion
  1.1 and the table's region, as the API reference's GetRecords example shows.

What AWS does over hours (24 h retention, iterators expiring after 15 minutes, shards
splitting) happens here when a test asks (hooks: `stream_event(table, "trim" | "split" |
"expire-iterators")`, or POST /_sandbox/streams). Gaps from AWS: AT_TIMESTAMP is not
supported; a split always makes two children and routes each key by its hash.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord, Table

FIRST_SEQUENCE = 100000000000000000000  # AWS's are 21-digit decimal strings, increasing
MAX_RECORDS = 1000


class StreamError(ServiceException):
    pass


class ResourceNotFound(StreamError):
    code = "ResourceNotFoundException"
    message = "Requested resource not found"


class TrimmedDataAccess(StreamError):
    code = "TrimmedDataAccessException"
    message = "The operation attempted to read past the oldest stream record in a shard."


class ExpiredIterator(StreamError):
    code = "ExpiredIteratorException"
    message = "The shard iterator has expired and can no longer be used to retrieve stream records."


class Validation(StreamError):
    code = "ValidationException"


@dataclass
class Shard:
    shard_id: str
    parent_id: str | None
    starting: int
    records: list[dict[str, Any]] = field(default_factory=list)
    ending: int | None = None  # set when the shard closes

    def describe(self) -> dict[str, Any]:
        numbers = {"StartingSequenceNumber": str(self.starting)}
        if self.ending is not None:
            numbers["EndingSequenceNumber"] = str(self.ending)
        shard: dict[str, Any] = {"ShardId": self.shard_id, "SequenceNumberRange": numbers}
        if self.parent_id is not None:
            shard["ParentShardId"] = self.parent_id
        return shard


def _shard_id() -> str:
    millis = int(datetime.now(UTC).timestamp() * 1000)
    return f"shardId-{millis:020d}-{secrets.token_hex(4)}"


class StreamLog:
    """A table's stream: what moto's StreamShard was, with shards, trimming and expiry."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.label = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "")
        self.created = datetime.now(UTC)
        self.next_sequence = FIRST_SEQUENCE
        self.shards = [Shard(_shard_id(), None, self.next_sequence)]
        self.trimmed_before = FIRST_SEQUENCE  # records below this are gone
        self.iterator_epoch = 0  # iterators issued before the current epoch have expired
        self.enabled = True
        self.lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> StreamLog:
        # moto deep-copies whole tables (TransactWriteItems' rollback copy); a lock cannot
        # be copied, so the copy gets its own.
        copied = StreamLog.__new__(StreamLog)
        memo[id(self)] = copied
        for name, value in vars(self).items():
            setattr(
                copied, name, threading.Lock() if name == "lock" else copy.deepcopy(value, memo)
            )
        return copied

    @property
    def arn(self) -> str:
        return f"{self.table.table_arn}/stream/{self.label}"

    # -- what moto's writes call ------------------------------------------------------

    def add(self, old: Item | None, new: Item | None) -> None:
        if not self.enabled or (old is not None and new is not None and old.attrs == new.attrs):
            return
        view_type = (self.table.stream_specification or {}).get("StreamViewType", "KEYS_ONLY")
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        key = (old or new).hash_key  # type: ignore[union-attr]
        with self.lock:  # writes arrive on several server threads: one sequence each
            record = StreamRecord(self.table, view_type, event, old, new, self.next_sequence)
            answer = record.to_json()
            answer.update(eventVersion="1.1", awsRegion=self.table.region_name)
            self._open_shard_for(key.value).records.append(answer)
            self.next_sequence += 1

    def _open_shard_for(self, hash_value: Any) -> Shard:
        open_shards = [s for s in self.shards if s.ending is None]
        digest = hashlib.md5(str(hash_value).encode(), usedforsecurity=False).digest()
        return open_shards[digest[0] % len(open_shards)]

    # -- what tests ask for ----------------------------------------------------------------

    def event(self, action: str) -> None:
        if action == "trim":  # everything written so far is older than 24 hours
            self.trimmed_before = self.next_sequence
            for shard in self.shards:
                shard.records.clear()
        elif action == "expire-iterators":  # every issued iterator is over 15 minutes old
            self.iterator_epoch += 1
        elif action == "split":
            for parent in [s for s in self.shards if s.ending is None]:
                parent.ending = self.next_sequence - 1
                for _ in range(2):
                    self.shards.append(Shard(_shard_id(), parent.shard_id, self.next_sequence))
        else:
            raise ValueError(f"unknown stream event {action!r}: trim, split, expire-iterators")

    # -- the API ---------------------------------------------------------------------------

    def shard(self, shard_id: str) -> Shard:
        for shard in self.shards:
            if shard.shard_id == shard_id:
                return shard
        raise ResourceNotFound(f"Requested resource not found: Shard does not exist: {shard_id}")

    def iterator(self, shard_id: str, kind: str, sequence: str | None) -> str:
        shard = self.shard(shard_id)
        oldest = max(shard.starting, self.trimmed_before)
        if kind == "TRIM_HORIZON":
            position = oldest
        elif kind == "LATEST":
            position = self.next_sequence if shard.ending is None else shard.ending + 1
        elif kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence is None or not str(sequence).isdigit():
                raise Validation(f"{kind} needs a SequenceNumber")
            position = int(sequence) + (kind == "AFTER_SEQUENCE_NUMBER")
            if int(sequence) < self.trimmed_before:
                raise TrimmedDataAccess(
                    f"The sequence number {sequence} is older than the trim point of the shard."
                )
        else:
            raise Validation(f"Unsupported ShardIteratorType {kind!r}")
        return _encode(self.arn, shard.shard_id, position, self.iterator_epoch)

    def records(self, token: dict[str, Any], limit: int) -> dict[str, Any]:
        if token["epoch"] < self.iterator_epoch:
            raise ExpiredIterator()
        shard = self.shard(token["shard"])
        position = int(token["position"])
        if position < self.trimmed_before and shard.starting < self.trimmed_before:
            raise TrimmedDataAccess()  # records this iterator points at were trimmed
        found = [r for r in shard.records if int(r["dynamodb"]["SequenceNumber"]) >= position]
        page = found[:limit]
        if page:
            position = int(page[-1]["dynamodb"]["SequenceNumber"]) + 1
        answer: dict[str, Any] = {"Records": page}
        if shard.ending is None or position <= shard.ending:
            answer["NextShardIterator"] = _encode(
                self.arn, shard.shard_id, position, token["epoch"]
            )
        return answer

    def describe(
        self, limit: int | None, start: str | None, child_of: str | None
    ) -> dict[str, Any]:
        shards = [s for s in self.shards if child_of is None or s.parent_id == child_of]
        if start is not None:
            ids = [s.shard_id for s in shards]
            shards = shards[ids.index(start) + 1 :] if start in ids else []
        page = shards[: limit or 100]
        described: dict[str, Any] = {
            "StreamArn": self.arn,
            "StreamLabel": self.label,
            "StreamStatus": "ENABLED" if self.enabled else "DISABLED",
            "StreamViewType": (self.table.stream_specification or {}).get("StreamViewType"),
            "CreationRequestDateTime": self.created,
            "TableName": self.table.name,
            "KeySchema": self.table.schema,
            "Shards": [s.describe() for s in page],
        }
        if len(page) < len(shards):
            described["LastEvaluatedShardId"] = page[-1].shard_id
        return described


def _encode(arn: str, shard_id: str, position: int, epoch: int) -> str:
    token = {"arn": arn, "shard": shard_id, "position": position, "epoch": epoch}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def decode(iterator: str) -> dict[str, Any]:
    try:
        token: dict[str, Any] = json.loads(base64.urlsafe_b64decode(iterator.encode()))
        token["arn"], token["shard"], token["position"], token["epoch"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Validation("Invalid ShardIterator") from exc
    return token
