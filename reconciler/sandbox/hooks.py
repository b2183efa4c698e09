"""Wire hooks: a WSGI middleware around moto's app that counts calls and injects faults.

Faults are made on the wire, in the shape the real service uses, so that botocore's own
parsing and retry logic sees them exactly as it would see AWS's (a throttle is retried by
the standard retry mode, a reset is a real dropped socket, a stale ETag is a real write by
someone else between the client's read and its write).

Python API on the middleware (server.hooks) and the same over HTTP under /_sandbox/ for
tests that drive a daemon in another process:

    GET    /_sandbox/calls            -> {"calls": {service: {operation: n}}}
    GET    /_sandbox/log              -> {"log": [{service, operation, method, path, status, signature}]}
    POST   /_sandbox/reset            {"seed"?: int}  clears counts, log and faults
    GET    /_sandbox/faults           -> {"faults": [...]}
    POST   /_sandbox/faults           {service, operation?, kind, probability?, count?, after?,
                                       delay?, status?, code?, seed?, race?} -> {"id": ...}
    DELETE /_sandbox/faults[/<id>]    removes one or all faults
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import io
import itertools
import json
import random
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn
from urllib.parse import quote

from reconciler.sandbox import wire_model

CONTROL_PREFIX = "/_sandbox/"
LOG_SIZE = 2000


class FaultKind(StrEnum):
    THROTTLE = "throttle"  # the service's throttling error: retryable
    INTERNAL_ERROR = "internal-error"  # 500
    UNAVAILABLE = "unavailable"  # 503
    RESET = "reset"  # TCP reset before any response byte
    LATENCY = "latency"  # sleep `delay` seconds, then serve normally
    RACE = "race"  # run `action` (another writer), then serve normally


# Kinds that answer in place of the service; the others only delay or precede it.
_TERMINAL = {FaultKind.THROTTLE, FaultKind.INTERNAL_ERROR, FaultKind.UNAVAILABLE, FaultKind.RESET}


@dataclass(frozen=True)
class WireCall:
    """One request as it arrived, handed to race actions and kept in the log."""

    service: str
    operation: str
    method: str
    path: str  # raw, percent-encoded as sent
    query: str
    headers: Mapping[str, str]
    body: bytes
    signature: str  # "sigv4", "sigv4a", "none", or the algorithm name

    def summary(self, status: int | None) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "status": status,
            "signature": self.signature,
        }


RaceAction = Callable[[WireCall], None]


@dataclass
class Fault:
    id: str
    service: str
    operation: str | None  # None: every operation of the service
    kind: FaultKind
    probability: float = 1.0
    count: int | None = None  # how many times it may fire; None: no limit
    after: int = 0  # let this many matching calls through first
    delay: float = 0.0
    status: int | None = None
    code: str | None = None
    action: RaceAction | None = None
    race: dict[str, Any] | None = None  # the JSON form of the action, for the HTTP API
    seed: int | None = None
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, call: WireCall) -> bool:
        return self.service == call.service and self.operation in (None, call.operation)

    def take(self) -> bool:
        """Decide (under the hooks' lock) whether this matching call gets the fault."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.count is not None and self.fired >= self.count:
            return False
        if self.probability < 1.0 and self.rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "operation": self.operation,
            "kind": self.kind.value,
            "probability": self.probability,
            "count": self.count,
            "after": self.after,
            "delay": self.delay,
            "status": self.status,
            "code": self.code,
            "race": self.race,
            "seed": self.seed,
            "seen": self.seen,
            "fired": self.fired,
        }


class WireHooks:
    """WSGI middleware: per-(service, operation) call counts and fault injection."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self._log: collections.deque[dict[str, Any]] = collections.deque(maxlen=LOG_SIZE)
        self._faults: list[Fault] = []
        self._seed: int | None = None
        self._ids = itertools.count(1)

    # --- Python API ------------------------------------------------------------------

    def calls(self) -> dict[str, dict[str, int]]:
        """{service: {operation: count}} of every call since the last reset (faults included)."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (service, operation), n in sorted(self._calls.items()):
                out.setdefault(service, {})[operation] = n
        return out

    def count(self, service: str, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                n for (s, o), n in self._calls.items() if s == service and operation in (None, o)
            )

    def log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._log)

    def reset(self, seed: int | None = None) -> None:
        """Forget counts, log and faults; `seed` makes later probability faults repeatable."""
        with self._lock:
            self._calls.clear()
            self._log.clear()
            self._faults.clear()
            self._seed = seed

    def inject(
        self,
        service: str,
        operation: str | None = None,
        *,
        kind: FaultKind | str,
        probability: float = 1.0,
        count: int | None = None,
        after: int = 0,
        delay: float = 0.0,
        status: int | None = None,
        code: str | None = None,
        action: RaceAction | None = None,
        race: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> str:
        """Add a fault; returns its id. See FaultKind for the kinds."""
        kind = FaultKind(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if kind is FaultKind.RACE:
            if action is None and race is None:
                raise ValueError("a race fault needs an action (or its JSON form, race)")
            action = action or _race_action_from_json(race or {})
        if kind is FaultKind.LATENCY and delay <= 0:
            raise ValueError("a latency fault needs delay > 0")
        with self._lock:
            if seed is None and self._seed is not None:
                seed = self._seed + next(self._ids)
            fault = Fault(
                id=uuid.uuid4().hex[:12],
                service=service,
                operation=operation,
                kind=kind,
                probability=probability,
                count=count,
                after=after,
                delay=delay,
                status=status,
                code=code,
                action=action,
                race=race,
                seed=seed,
                rng=random.Random(seed),
            )
            self._faults.append(fault)
        return fault.id

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)  # type: ignore[no-any-return]

        call = self._classify(environ)
        with self._lock:
            self._calls[(call.service, call.operation)] += 1
            chosen = [f for f in self._faults if f.matches(call) and f.take()]
        terminal = next((f for f in chosen if f.kind in _TERMINAL), None)
        for fault in chosen:
            if fault.kind is FaultKind.LATENCY:
                time.sleep(fault.delay)
            elif fault.kind is FaultKind.RACE and fault.action is not None:
                fault.action(call)  # outside the lock: it may itself call the sandbox

        status_box: list[int] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_box.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        try:
            if terminal is None:
                return self.app(environ, recording_start_response)  # type: ignore[no-any-return]
            if terminal.kind is FaultKind.RESET:
                _reset_connection(environ)  # raises: werkzeug then drops the connection
            return _error_response(call, terminal, recording_start_response)
        finally:
            with self._lock:
                self._log.append(call.summary(status_box[0] if status_box else None))

    def _classify(self, environ: dict[str, Any]) -> WireCall:
        body = _read_body(environ)
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_uri:
            raw_path, _, query = raw_uri.partition("?")
        else:
            raw_path, query = quote(environ.get("PATH_INFO", "")), environ.get("QUERY_STRING", "")
        auth = environ.get("HTTP_AUTHORIZATION")
        signature, _, _ = wire_model.signature_of(auth)
        service = wire_model.service_of(auth, environ.get("HTTP_HOST"))
        method = environ.get("REQUEST_METHOD", "GET")
        operation = wire_model.operation_of(
            service,
            method,
            raw_path,
            query,
            environ.get("HTTP_X_AMZ_TARGET"),
            body,
            environ.get("CONTENT_TYPE", ""),
        )
        headers = {
            k[5:].replace("_", "-").title(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        return WireCall(service, operation, method, raw_path, query, headers, body, signature)

    # --- HTTP control API -----------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX) :].strip("/")
        try:
            payload = json.loads(_read_body(environ) or b"{}")
            status, body = self._control_route(method, path, payload)
        except (ValueError, TypeError) as exc:
            status, body = 400, {"error": str(exc)}
        data = json.dumps(body).encode()
        start_response(
            f"{status} {'OK' if status < 400 else 'Error'}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _control_route(
        self, method: str, path: str, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if path == "calls" and method == "GET":
            return 200, {"calls": self.calls()}
        if path == "log" and method == "GET":
            return 200, {"log": self.log()}
        if path == "reset" and method == "POST":
            self.reset(seed=payload.get("seed"))
            return 200, {"reset": True}
        if path == "faults" and method == "GET":
            return 200, {"faults": self.faults()}
        if path == "faults" and method == "POST":
            allowed = {
                "service", "operation", "kind", "probability", "count", "after",
                "delay", "status", "code", "race", "seed",
            }  # fmt: skip
            unknown = set(payload) - allowed
            if unknown:
                raise ValueError(f"unknown fault fields: {sorted(unknown)}")
            return 201, {"id": self.inject(**payload)}
        if path == "faults" and method == "DELETE":
            self.clear_faults()
            return 200, {"cleared": True}
        if path.startswith("faults/") and method == "DELETE":
            found = self.remove(path.split("/", 1)[1])
            return (200, {"removed": True}) if found else (404, {"error": "no such fault"})
        return 404, {"error": f"no control route {method} /_sandbox/{path}"}


# --- fault responses -------------------------------------------------------------------------

_THROTTLE = {
    # service: (status, code, message), as those services answer.
    "dynamodb": (
        400,
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    ),
    "cloudfront": (400, "Throttling", "Rate exceeded"),
    "cloudfront-keyvaluestore": (429, "ThrottlingException", "Rate exceeded"),
    "lambda": (429, "TooManyRequestsException", "Rate exceeded"),
}
_INTERNAL = {
    "dynamodb": "InternalServerError",
    "cloudfront-keyvaluestore": "InternalServerException",
    "lambda": "ServiceException",
}


def _fault_code(call: WireCall, fault: Fault) -> tuple[int, str, str]:
    if fault.kind is FaultKind.THROTTLE:
        status, code, message = _THROTTLE.get(call.service, (400, "Throttling", "Rate exceeded"))
        shape = wire_model.shape_of(call.service)
        if call.service not in _THROTTLE and shape and shape.protocol.endswith("json"):
            code = "ThrottlingException"
    elif fault.kind is FaultKind.UNAVAILABLE:
        status, code, message = 503, "ServiceUnavailable", "Service is unavailable"
    else:
        status, code = 500, _INTERNAL.get(call.service, "InternalFailure")
        message = "We encountered an internal error. Please try again."
    return fault.status or status, fault.code or code, message


def _error_response(call: WireCall, fault: Fault, start_response: Any) -> Iterable[bytes]:
    status, code, message = _fault_code(call, fault)
    shape = wire_model.shape_of(call.service)
    protocol = shape.protocol if shape else ("json" if "X-Amz-Target" in call.headers else "query")
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "json":
        prefix = "com.amazonaws.dynamodb.v20120810#" if call.service == "dynamodb" else ""
        body = json.dumps({"__type": prefix + code, "message": message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
    elif protocol == "rest-json":
        body = json.dumps({"message": message, "Message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    else:  # rest-xml, query, ec2
        xmlns = (
            ' xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"'
            if call.service == "cloudfront"
            else ""
        )
        body = (
            f'<?xml version="1.0"?><ErrorResponse{xmlns}><Error><Type>'
            f"{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {code}", headers)
    return [body]


def _reset_connection(environ: dict[str, Any]) -> NoReturn:
    """Abort the TCP connection (RST) before any byte of a response is sent."""
    sock: socket.socket | None = environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("no werkzeug.socket in environ: cannot reset the connection")
    # Linger 0 turns the close into an RST; raising ConnectionResetError makes werkzeug
    # treat the exchange as a dropped connection and close without writing a response.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _abort(sock)
    raise ConnectionResetError("sandbox: injected connection reset")


def _abort(sock: socket.socket) -> None:
    # werkzeug's request and response file objects keep the socket open, so close() here
    # would not reach the kernel. connect(AF_UNSPEC) aborts a TCP connection in place
    # (Linux: tcp_disconnect sends RST); elsewhere fall back to a shutdown (FIN).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        sockaddr = struct.pack("H14s", socket.AF_UNSPEC, b"")
        if libc.connect(sock.fileno(), sockaddr, len(sockaddr)) == 0:
            return
    except (OSError, AttributeError):
        pass
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = environ["wsgi.input"].read(length)
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()  # chunked upload: werkzeug de-chunks to EOF
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)  # let the app read it again
    return bytes(body)


# --- race actions in JSON form (HTTP API) ----------------------------------------------------


def kvs_race(puts: Mapping[str, str] | None = None, deletes: Iterable[str] = ()) -> RaceAction:
    """A race action: another writer changes the KVS named in the intercepted request."""
    from reconciler.sandbox import kvs_dataplane

    wanted_puts = dict(puts or {"_sandbox_race": uuid.uuid4().hex})
    wanted_deletes = frozenset(deletes)

    def action(call: WireCall) -> None:
        arn = kvs_dataplane.arn_from_path(call.path)
        kvs_dataplane.write_out_of_band(arn, wanted_puts, wanted_deletes)

    return action


def _race_action_from_json(race: Mapping[str, Any]) -> RaceAction:
    if set(race) - {"kvs_puts", "kvs_deletes"}:
        raise ValueError(f"unknown race fields {sorted(set(race))}; known: kvs_puts, kvs_deletes")
    return kvs_race(race.get("kvs_puts"), race.get("kvs_deletes") or ())
