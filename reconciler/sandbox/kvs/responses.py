"""The KeyValueStore data plane on the wire (rest-json), in moto's handler signature.

Routes follow botocore's model (cloudfront-keyvaluestore 2022-07-26): GET
/key-value-stores/{KvsARN} DescribeKeyValueStore, GET .../keys ListKeys, POST .../keys
UpdateKeys, GET|PUT|DELETE .../keys/{Key} GetKey, PutKey, DeleteKey. Errors carry the
code in x-amzn-ErrorType and the text in Message, which is where botocore reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from reconciler.sandbox.kvs import store
from reconciler.sandbox.kvs.errors import KvsError, ValidationError

PREFIX = "/key-value-stores/"


def arn_from_path(raw_path: str) -> str:
    """The store ARN in a data-plane request path (percent-encoded, as sent)."""
    if not raw_path.startswith(PREFIX):
        raise ValidationError(f"Not a KeyValueStore data-plane path: {raw_path}")
    return unquote(raw_path[len(PREFIX) :].split("/", 1)[0])


def _json(status: int, body: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> Any:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return status, headers, json.dumps(body)


def _write_result(data: store.Data) -> Any:
    body = {"ItemCount": len(data.entries), "TotalSizeInBytes": data.size}
    return _json(200, body, {"ETag": data.etag})


def describe(arn: str) -> Any:
    with store.LOCK:
        data = store.data(arn)
        body = {
            "ItemCount": len(data.entries),
            "TotalSizeInBytes": data.size,
            "KvsARN": arn,
            "Created": data.created.timestamp(),
            "LastModified": data.last_modified.timestamp(),
            "Status": store.status(store.find_store(arn)),
        }
        return _json(200, body, {"ETag": data.etag})


def handle(request: Any, full_url: str, headers: Mapping[str, str]) -> Any:
    try:
        return _route(request, full_url, headers)
    except KvsError as exc:
        return _json(exc.status, {"Message": exc.message}, {"x-amzn-ErrorType": exc.code})


def _body(request: Any) -> tuple[dict[str, Any], int]:
    raw = request.get_data() if hasattr(request, "get_data") else request.data
    try:
        payload = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ValidationError("Malformed JSON body") from exc
    if not isinstance(payload, dict):
        raise ValidationError("The body must be a JSON object")
    return payload, len(raw or b"")


def _route(request: Any, full_url: str, headers: Mapping[str, str]) -> Any:
    # The raw URL keeps %2F inside the ARN and inside keys apart from path separators.
    parts = urlsplit(full_url)
    arn = arn_from_path(parts.path)
    segments = [unquote(s) for s in parts.path[len(PREFIX) :].split("/")]
    method = request.method.upper()
    if_match = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
    if len(segments) == 1 and method == "GET":
        return describe(arn)
    if len(segments) == 2 and segments[1] == "keys":
        if method == "GET":
            query = parse_qs(parts.query)
            raw_max = query.get("MaxResults", [None])[0]
            try:
                max_results = int(raw_max) if raw_max is not None else None
            except ValueError as exc:
                raise ValidationError("MaxResults must be an integer") from exc
            return _json(200, store.list_keys(arn, max_results, query.get("NextToken", [None])[0]))
        if method == "POST":
            payload, size = _body(request)
            puts, deletes = payload.get("Puts") or [], payload.get("Deletes") or []
            return _write_result(store.update_keys(arn, if_match, puts, deletes, size))
    if len(segments) == 3 and segments[1] == "keys":
        key = segments[2]
        if method == "GET":
            return _json(200, store.get_key(arn, key))
        if method == "PUT":
            value = _body(request)[0].get("Value")
            if not isinstance(value, str):
                raise ValidationError("Value is required")
            return _write_result(store.put_key(arn, key, value, if_match))
        if method == "DELETE":
            return _write_result(store.delete_key(arn, key, if_match))
    raise ValidationError(f"No operation for {method} {parts.path}")
