"""The CloudFront KeyValueStore data plane (`cloudfront-keyvaluestore`), which moto lacks.

Registered as a new service in moto's server, from outside:
- a URL pattern in `moto.backend_index.backend_url_patterns`, and a module registered
  under `moto.cloudfrontkeyvaluestore` in sys.modules, which is where moto's
  `backends.get_backend` imports a service's `<name>_backends` from;
- `DomainDispatcherApplication.infer_service_region_host` taught the 4-part SigV4A
  credential scope (`AKID/date/service/aws4_request`): stock moto expects 5 parts and
  would send every SigV4A request to S3.

State lives on moto's own cloudfront `KeyValueStore` objects (one attribute each), so a
store made with the control plane is visible here, a control-plane delete makes it vanish,
and POST /moto-api/reset clears it with everything else.

Behaviour follows botocore's model (cloudfront-keyvaluestore 2022-07-26) and the limits in
shared/AWS_FACTS.md; the error names and HTTP statuses are the model's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

SERVICE = "cloudfront-keyvaluestore"
# moto's get_backend() strips dashes and imports moto.<that>; the backends attribute is
# "<that>_backends".
MOTO_MODULE = "moto.cloudfrontkeyvaluestore"
BACKENDS_ATTR = "cloudfrontkeyvaluestore_backends"
# The host the SigV4A patch routes to; any host moto can match to this service will do.
INTERNAL_HOST = f"{SERVICE}.amazonaws.com"

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 1024
MAX_STORE_BYTES = 5 * 1024 * 1024
MAX_UPDATE_OPERATIONS = 50
MAX_UPDATE_PAYLOAD_BYTES = 3 * 1024 * 1024
MAX_PAGE_SIZE = 50

_STATE_ATTR = "_reconciler_kvs_data"
_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):cloudfront::(?P<account>\d{12}):key-value-store/[\w-]+$"
)

# One lock for every store: the server is threaded, and a write must check IfMatch and
# swap in the new ETag atomically, or two racing writers could both succeed.
_lock = threading.RLock()
_installed = False


class KvsError(Exception):
    """An AWS error response, by the model's name and HTTP status."""

    status = 400
    code = "ValidationException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(KvsError):
    status, code = 400, "ValidationException"


class ConflictError(KvsError):
    status, code = 409, "ConflictException"


class NotFoundError(KvsError, LookupError):
    status, code = 404, "ResourceNotFoundException"


class QuotaExceededError(KvsError):
    # 402 is what botocore's model declares for this error.
    status, code = 402, "ServiceQuotaExceededException"


@dataclass
class _Data:
    entries: dict[str, str] = field(default_factory=dict)
    etag: str = field(default_factory=lambda: _new_etag())
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def size(self) -> int:
        return sum(_size(k, v) for k, v in self.entries.items())


def _new_etag() -> str:
    # Real data-plane ETags are opaque uppercase tokens, e.g. "KV1F83G8C2ARO7P".
    return "KV" + secrets.token_hex(7).upper()


def _size(key: str, value: str) -> int:
    return len(key.encode()) + len(value.encode())


# --- store lookup (shared with the control plane) ------------------------------------------


def _find_store(arn: str) -> Any:
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


def _data(arn: str) -> _Data:
    store = _find_store(arn)
    data = getattr(store, _STATE_ATTR, None)
    if data is None:
        data = _Data(created=_as_utc(getattr(store, "last_modified_time", None)))
        setattr(store, _STATE_ATTR, data)
    return data


def _as_utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- the operations, independent of HTTP --------------------------------------------------


def _validate_entry(key: str, value: str | None) -> None:
    if not key:
        raise ValidationError("Key must not be empty")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValidationError(f"Key size exceeds the limit of {MAX_KEY_BYTES} bytes")
    if value is not None and len(value.encode()) > MAX_VALUE_BYTES:
        raise ValidationError(f"Value size exceeds the limit of {MAX_VALUE_BYTES} bytes")


def _write(
    arn: str,
    if_match: str | None,
    puts: Mapping[str, str],
    deletes: frozenset[str],
    must_exist: str | None = None,
) -> _Data:
    """Apply puts and deletes all-or-nothing, guarded by IfMatch; returns the new state."""
    if not if_match:
        raise ValidationError("IfMatch is required")
    with _lock:
        data = _data(arn)
        if if_match != data.etag:
            raise ConflictError(
                f"Pre-condition failed: ETag {if_match} does not match the current ETag"
            )
        if must_exist is not None and must_exist not in data.entries:
            raise NotFoundError(f"Key {must_exist} not found")
        entries = {k: v for k, v in data.entries.items() if k not in deletes}
        entries.update(puts)
        if sum(_size(k, v) for k, v in entries.items()) > MAX_STORE_BYTES:
            raise QuotaExceededError(
                f"Resource size limit of {MAX_STORE_BYTES} bytes for the KeyValueStore exceeded"
            )
        data.entries = entries
        data.etag = _new_etag()
        data.last_modified = datetime.now(UTC)
        return data


def describe(arn: str) -> tuple[dict[str, Any], str]:
    with _lock:
        data = _data(arn)
        store = _find_store(arn)
        body: dict[str, Any] = {
            "ItemCount": len(data.entries),
            "TotalSizeInBytes": data.size,
            "KvsARN": arn,
            "Created": data.created.timestamp(),
            "LastModified": data.last_modified.timestamp(),
            "Status": getattr(store, "status", "READY"),
        }
        return body, data.etag


def get_key(arn: str, key: str) -> dict[str, Any]:
    with _lock:
        data = _data(arn)
        if key not in data.entries:
            raise NotFoundError(f"Key {key} not found")
        return {
            "Key": key,
            "Value": data.entries[key],
            "ItemCount": len(data.entries),
            "TotalSizeInBytes": data.size,
        }


def list_keys(arn: str, max_results: int | None, next_token: str | None) -> dict[str, Any]:
    limit = MAX_PAGE_SIZE if max_results is None else max_results
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"MaxResults must be between 1 and {MAX_PAGE_SIZE}")
    after = _decode_token(next_token) if next_token else None
    with _lock:
        keys = sorted(_data(arn).entries)
        entries = _data(arn).entries
        if after is not None:
            keys = [k for k in keys if k > after]
        page = keys[:limit]
        body: dict[str, Any] = {"Items": [{"Key": k, "Value": entries[k]} for k in page]}
        if len(keys) > limit:
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


def put_key(arn: str, key: str, value: str, if_match: str | None) -> _Data:
    _data(arn)  # a missing store is reported before a bad input
    _validate_entry(key, value)
    return _write(arn, if_match, {key: value}, frozenset())


def delete_key(arn: str, key: str, if_match: str | None) -> _Data:
    _data(arn)
    _validate_entry(key, None)
    return _write(arn, if_match, {}, frozenset({key}), must_exist=key)


def update_keys(
    arn: str, if_match: str | None, puts: list[Any], deletes: list[Any], payload_size: int
) -> _Data:
    _data(arn)
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
        _validate_entry(item["Key"], item["Value"])
        put_map[item["Key"]] = item["Value"]
    delete_set: set[str] = set()
    for item in deletes:
        if not isinstance(item, dict) or not isinstance(item.get("Key"), str):
            raise ValidationError("Each Deletes item needs a string Key")
        _validate_entry(item["Key"], None)
        delete_set.add(item["Key"])
    if len(put_map) + len(delete_set) != len(puts) + len(deletes):
        raise ValidationError("A key may appear only once across Puts and Deletes")
    return _write(arn, if_match, put_map, frozenset(delete_set))


# --- helpers for other emulations and for fault injection -------------------------------


def entries_for_arn(arn: str) -> dict[str, str]:
    """A copy of the store's keys and values. Raises NotFoundError (a LookupError)."""
    with _lock:
        return dict(_data(arn).entries)


def etag_for_arn(arn: str) -> str:
    with _lock:
        return _data(arn).etag


def write_out_of_band(
    arn: str, puts: Mapping[str, str], deletes: frozenset[str] = frozenset()
) -> str:
    """Someone else's write: changes the store and its ETag, as a concurrent writer would.

    Used by the wire hooks' ETag races. Returns the new ETag.
    """
    with _lock:
        return _write(arn, _data(arn).etag, dict(puts), deletes).etag


def arn_from_path(raw_path: str) -> str:
    """The store ARN in a data-plane request path (percent-encoded, as sent)."""
    prefix = "/key-value-stores/"
    if not raw_path.startswith(prefix):
        raise ValidationError(f"Not a KeyValueStore data-plane path: {raw_path}")
    return unquote(raw_path[len(prefix) :].split("/", 1)[0])


# --- HTTP (moto's handler signature: request, full_url, headers) ------------------------


def _json(status: int, body: Mapping[str, Any], extra: Mapping[str, str] | None = None) -> Any:
    headers = {"Content-Type": "application/json", **(extra or {})}
    return status, headers, json.dumps(body)


def _error(exc: KvsError) -> Any:
    # rest-json: botocore reads the code from x-amzn-ErrorType, the text from Message.
    return _json(exc.status, {"Message": exc.message}, {"x-amzn-ErrorType": exc.code})


def _write_result(data: _Data) -> Any:
    return _json(
        200,
        {"ItemCount": len(data.entries), "TotalSizeInBytes": data.size},
        {"ETag": data.etag},
    )


def handle(request: Any, full_url: str, headers: Mapping[str, str]) -> Any:
    try:
        return _route(request, full_url, headers)
    except KvsError as exc:
        return _error(exc)


def _route(request: Any, full_url: str, headers: Mapping[str, str]) -> Any:
    # The raw URL keeps %2F inside the ARN and inside keys apart from path separators.
    parts = urlsplit(full_url)
    arn = arn_from_path(parts.path)
    segments = [unquote(s) for s in parts.path[len("/key-value-stores/") :].split("/")]
    method = request.method.upper()
    if_match = _header(headers, "If-Match")
    if len(segments) == 1 and method == "GET":
        body, etag = describe(arn)
        return _json(200, body, {"ETag": etag})
    if len(segments) == 2 and segments[1] == "keys":
        if method == "GET":
            query = parse_qs(parts.query)
            raw_max = query.get("MaxResults", [None])[0]
            try:
                max_results = int(raw_max) if raw_max is not None else None
            except ValueError as exc:
                raise ValidationError("MaxResults must be an integer") from exc
            return _json(200, list_keys(arn, max_results, query.get("NextToken", [None])[0]))
        if method == "POST":
            raw = request.get_data() if hasattr(request, "get_data") else request.data
            try:
                payload = json.loads(raw or b"{}")
            except ValueError as exc:
                raise ValidationError("Malformed JSON body") from exc
            data = update_keys(
                arn,
                if_match,
                payload.get("Puts") or [],
                payload.get("Deletes") or [],
                len(raw or b""),
            )
            return _write_result(data)
    if len(segments) == 3 and segments[1] == "keys":
        key = segments[2]
        if method == "GET":
            return _json(200, get_key(arn, key))
        if method == "PUT":
            raw = request.get_data() if hasattr(request, "get_data") else request.data
            try:
                value = json.loads(raw or b"{}").get("Value")
            except ValueError as exc:
                raise ValidationError("Malformed JSON body") from exc
            if not isinstance(value, str):
                raise ValidationError("Value is required")
            return _write_result(put_key(arn, key, value, if_match))
        if method == "DELETE":
            return _write_result(delete_key(arn, key, if_match))
    raise ValidationError(f"No operation for {method} {parts.path}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


# --- registration in moto's server --------------------------------------------------------


class _Router:
    """The 'backend' moto's create_backend_app asks for URL rules; holds no state."""

    flask_paths: ClassVar[dict[str, Callable[..., Any]]] = {
        "/key-value-stores/<path:route>": handle,
    }


def sigv4a_scope(authorization: str | None) -> str | None:
    """The service named by a SigV4A Authorization header, None if not SigV4A."""
    if not authorization or not authorization.startswith("AWS4-ECDSA-P256-SHA256"):
        return None
    try:
        scope = authorization.split(",")[0].split()[1].split("=", 1)[1]
        _akid, _date, service, _terminator = scope.split("/")
    except (IndexError, ValueError):
        return None
    return service.lower()


def install() -> None:
    """Register the service with moto's server (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto import backend_index
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        module = types.ModuleType(MOTO_MODULE, __doc__)
        setattr(module, BACKENDS_ATTR, {"global": _Router()})
        sys.modules[MOTO_MODULE] = module
        backend_index.backend_url_patterns.append(
            (SERVICE, re.compile(r"https?://cloudfront-keyvaluestore\.amazonaws\.com"))
        )
        # The real host, for clients that reach the sandbox through a proxy.
        backend_index.backend_url_patterns.append(
            (SERVICE, re.compile(r"https?://(\d{12}\.)?cloudfront-kvs\.global\.api\.aws"))
        )

        original = DomainDispatcherApplication.infer_service_region_host

        def infer_service_region_host(
            self: DomainDispatcherApplication, environ: dict[str, Any], path: str
        ) -> str | None:
            auth = environ.get("HTTP_AUTHORIZATION")
            if sigv4a_scope(auth) == SERVICE or (auth and f"/{SERVICE}/aws4_request" in auth):
                return INTERNAL_HOST
            return original(self, environ, path)

        infer_service_region_host.__wrapped__ = original  # type: ignore[attr-defined]
        DomainDispatcherApplication.infer_service_region_host = infer_service_region_host  # type: ignore[method-assign]
        _installed = True
