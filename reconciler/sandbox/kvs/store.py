"""The KeyValueStore data plane's state and operations, independent of HTTP.

State lives on moto's own cloudfront `KeyValueStore` objects (one attribute each), so a
store made with the control plane is visible here, a control-plane delete makes it
vanish, and POST /moto-api/reset clears it with everything else.

Limits are AWS's (shared/AWS_FACTS.md, CloudFront Developer Guide "Quotas"): key 512
bytes (the model allows 1024 characters), value 1 KB, store 5 MB, UpdateKeys 50
operations or 3 MB, ListKeys pages of at most 50. Keys are kept in a sorted index, so a
ListKeys page costs O(log n + page) and a write O(operations · log n), not O(store).

Gap from AWS: ListKeys returns keys in byte order of their UTF-8 strings; AWS documents
no order.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sortedcontainers import SortedList

from reconciler.sandbox import context
from reconciler.sandbox.kvs.errors import (
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from reconciler.sandbox.switches import still_transitional

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
MAX_STORE_BYTES = 5 * 1024 * 1024
MAX_UPDATE_OPERATIONS = 50
MAX_UPDATE_PAYLOAD_BYTES = 3 * 1024 * 1024
MAX_PAGE_SIZE = 50

_STATE_ATTR = "_reconciler_kvs_data"
_READS_ATTR = "_reconciler_reads"
PROVISIONING = "PROVISIONING"
READY = "READY"
_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):cloudfront::(?P<account>\d{12}):key-value-store/[\w-]+$"
)

# One lock for every store: the server is threaded, and a write must check IfMatch and
# swap in the new ETag atomically, or two racing writers could both succeed.
LOCK = threading.RLock()


def _new_etag() -> str:
    # Real data-plane ETags are opaque uppercase tokens, e.g. "KV1F83G8C2ARO7P".
    return "KV" + secrets.token_hex(7).upper()


def _size(key: str, value: str) -> int:
    return len(key.encode()) + len(value.encode())


@dataclass
class Data:
    entries: dict[str, str] = field(default_factory=dict)
    keys: SortedList = field(default_factory=SortedList)
    size: int = 0
    etag: str = field(default_factory=_new_etag)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))


def find_store(arn: str) -> Any:
    """moto's KeyValueStore object for an ARN (ValidationError, NotFoundError)."""
    from moto.cloudfront.models import cloudfront_backends

    match = _ARN.match(arn)
    if match is None:
        raise ValidationError(f"Invalid KvsARN: {arn}")
    account, partition = match["account"], match["partition"]
    if account not in cloudfront_backends or partition not in cloudfront_backends[account]:
        raise NotFoundError(f"Resource {arn} not found")
    for store in cloudfront_backends[account][partition].key_value_stores.values():
        if store.arn == arn:
            return store
    raise NotFoundError(f"Resource {arn} not found")


def data(arn: str) -> Data:
    store = find_store(arn)
    found: Data | None = getattr(store, _STATE_ATTR, None)
    if found is None:
        created = getattr(store, "last_modified_time", None) or datetime.now(UTC)
        found = Data(created=created if created.tzinfo else created.replace(tzinfo=UTC))
        setattr(store, _STATE_ATTR, found)
    return found


def status(store: Any) -> str:
    """PROVISIONING for the first `kvs_provisioning_reads` control-plane reads, then READY
    for good (a store once READY does not go back when the switch changes later)."""
    reads = getattr(store, _READS_ATTR, 0)
    if reads is None:
        return READY
    provisioning = context.current().switches.kvs_provisioning_reads
    return PROVISIONING if still_transitional(reads, provisioning) else READY


def count_read(store: Any) -> None:
    """One control-plane read happened; once it reported READY, READY is latched."""
    if status(store) == READY:
        setattr(store, _READS_ATTR, None)
    else:
        setattr(store, _READS_ATTR, int(getattr(store, _READS_ATTR, 0)) + 1)


def validate_entry(key: str, value: str | None) -> None:
    if not key:
        raise ValidationError("Key must not be empty")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValidationError(f"Key size exceeds the limit of {MAX_KEY_BYTES} bytes")
    if value is not None and len(value.encode()) > MAX_VALUE_BYTES:
        raise ValidationError(f"Value size exceeds the limit of {MAX_VALUE_BYTES} bytes")


def write(
    arn: str,
    if_match: str | None,
    puts: Mapping[str, str],
    deletes: frozenset[str],
    must_exist: str | None = None,
) -> Data:
    """Apply puts and deletes all-or-nothing, guarded by IfMatch; returns the new state."""
    if not if_match:
        raise ValidationError("IfMatch is required")
    with LOCK:
        state = data(arn)
        if if_match != state.etag:
            raise ConflictError(
                f"Pre-condition failed: ETag {if_match} does not match the current ETag"
            )
        if must_exist is not None and must_exist not in state.entries:
            raise NotFoundError(f"Key {must_exist} not found")
        size = state.size
        for key in deletes:
            if key in state.entries:
                size -= _size(key, state.entries[key])
        for key, value in puts.items():
            if key in state.entries and key not in deletes:
                size -= _size(key, state.entries[key])
            size += _size(key, value)
        if size > MAX_STORE_BYTES:
            raise QuotaExceededError(
                f"Resource size limit of {MAX_STORE_BYTES} bytes for the KeyValueStore exceeded"
            )
        for key in deletes:
            if state.entries.pop(key, None) is not None:
                state.keys.remove(key)
        for key, value in puts.items():
            if key not in state.entries:
                state.keys.add(key)
            state.entries[key] = value
        state.size = size
        state.etag = _new_etag()
        state.last_modified = datetime.now(UTC)
        return state


def get_key(arn: str, key: str) -> dict[str, Any]:
    with LOCK:
        state = data(arn)
        if key not in state.entries:
            raise NotFoundError(f"Key {key} not found")
        return {
            "Key": key,
            "Value": state.entries[key],
            "ItemCount": len(state.entries),
            "TotalSizeInBytes": state.size,
        }


def list_keys(arn: str, max_results: int | None, next_token: str | None) -> dict[str, Any]:
    limit = MAX_PAGE_SIZE if max_results is None else max_results
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"MaxResults must be between 1 and {MAX_PAGE_SIZE}")
    after = _decode_token(next_token) if next_token else None
    with LOCK:
        state = data(arn)
        start = 0 if after is None else state.keys.bisect_right(after)
        page = list(state.keys.islice(start, start + limit))
        body: dict[str, Any] = {"Items": [{"Key": k, "Value": state.entries[k]} for k in page]}
        if start + limit < len(state.keys):
            body["NextToken"] = _encode_token(page[-1])
        return body


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("Invalid NextToken") from exc
    if not isinstance(after, str):
        raise ValidationError("Invalid NextToken")
    return after


def put_key(arn: str, key: str, value: str, if_match: str | None) -> Data:
    data(arn)  # a missing store is reported before a bad input
    validate_entry(key, value)
    return write(arn, if_match, {key: value}, frozenset())


def delete_key(arn: str, key: str, if_match: str | None) -> Data:
    data(arn)
    validate_entry(key, None)
    return write(arn, if_match, {}, frozenset({key}), must_exist=key)


def update_keys(
    arn: str, if_match: str | None, puts: list[Any], deletes: list[Any], payload_size: int
) -> Data:
    data(arn)
    if payload_size > MAX_UPDATE_PAYLOAD_BYTES:
        raise QuotaExceededError(
            f"UpdateKeys payload exceeds the limit of {MAX_UPDATE_PAYLOAD_BYTES} bytes"
        )
    if len(puts) + len(deletes) > MAX_UPDATE_OPERATIONS:
        raise QuotaExceededError(
            f"UpdateKeys takes at most {MAX_UPDATE_OPERATIONS} key operations per call, "
            f"got {len(puts) + len(deletes)}"
        )
    put_map: dict[str, str] = {}
    for item in puts:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("Key"), str)
            or not isinstance(item.get("Value"), str)
        ):
            raise ValidationError("Each Puts item needs a string Key and Value")
        validate_entry(item["Key"], item["Value"])
        put_map[item["Key"]] = item["Value"]
    delete_set: set[str] = set()
    for item in deletes:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise ValidationError("Each Deletes item needs a string Key")
        validate_entry(item["Key"], None)
        delete_set.add(item["Key"])
    if len(put_map) + len(delete_set) != len(puts) + len(deletes):
        raise ValidationError("A key may appear only once across Puts and Deletes")
    return write(arn, if_match, put_map, frozenset(delete_set))


# --- helpers for other emulations and for fault injection -------------------------------


def entries_for_arn(arn: str) -> dict[str, str]:
    """A copy of the store's keys and values. Raises NotFoundError (a LookupError)."""
    with LOCK:
        return dict(data(arn).entries)


def write_out_of_band(
    arn: str, puts: Mapping[str, str], deletes: frozenset[str] = frozenset()
) -> str:
    """Someone else's write: changes the store and its ETag, as a concurrent writer would.

    Used by the wire hooks' ETag races. Returns the new ETag.
    """
    with LOCK:
        return write(arn, data(arn).etag, dict(puts), deletes).etag
