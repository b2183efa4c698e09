"""WireHooks: a WSGI middleware around the sandbox that counts calls and injects faults.

Python API on the middleware (`server.hooks`, `sandbox.hooks`) and the same over HTTP
under /_sandbox/ (control.py) for tests that drive a daemon in another process. The
behaviour switches (reconciler/sandbox/switches.py) belong to the same object, so one
`reset()` (every test's fixture) restores counts, log, faults and switches.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import io
import itertools
import random
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from reconciler.emulator import ACCOUNT_ID, REGION
from reconciler.sandbox import wire_model
from reconciler.sandbox.hooks import control
from reconciler.sandbox.hooks.faults import (
    TERMINAL,
    FaultKind,
    answer_for,
    compiled,
    error_response,
)
from reconciler.sandbox.switches import Switches

CONTROL_PREFIX = "/_sandbox/"
LOG_SIZE = 2000


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
    client_port: int = 0  # the client's TCP port: the same one again means a reused connection

    def summary(self, status: int | None) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "status": status,
            "signature": self.signature,
            "client_port": self.client_port,
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
    message: str | None = None
    where: str | None = None  # a regular expression the raw "path?query" must contain
    action: RaceAction | None = None
    race: dict[str, Any] | None = None  # the JSON form of the action, for the HTTP API
    seed: int | None = None
    seen: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, call: WireCall) -> bool:
        if self.service != call.service or self.operation not in (None, call.operation):
            return False
        target = f"{call.path}?{call.query}" if call.query else call.path
        pattern = compiled(self.where)
        return pattern is None or pattern.search(target) is not None

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
        names = ("id", "service", "operation", "probability", "count", "after", "delay",
                 "status", "code", "message", "where", "race", "seed", "seen", "fired")  # fmt: skip
        return {"kind": self.kind.value, **{n: getattr(self, n) for n in names}}


class WireHooks:
    """WSGI middleware: per-(service, operation) call counts, fault injection, switches."""

    def __init__(self, app: Any, switches: Switches | None = None) -> None:
        self.app = app
        self.switches = switches if switches is not None else Switches()
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
        """Forget counts, log and faults, restore the default switches; `seed` makes later
        probability faults repeatable."""
        with self._lock:
            self._calls.clear()
            self._log.clear()
            self._faults.clear()
            self._seed = seed
            self.switches.restore_defaults()

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
        message: str | None = None,
        where: str | None = None,
        action: RaceAction | None = None,
        race: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> str:
        """Add a fault; returns its id. See FaultKind for the kinds, faults.py for the answers."""
        kind = FaultKind(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if kind is FaultKind.RACE:
            if action is None and race is None:
                raise ValueError("a race fault needs an action (or its JSON form, race)")
            from reconciler.sandbox.hooks.races import race_action_from_json

            action = action or race_action_from_json(race or {})
        if kind is FaultKind.LATENCY and delay <= 0:
            raise ValueError("a latency fault needs delay > 0")
        if kind in TERMINAL and kind is not FaultKind.RESET:
            answer_for(service, kind, status, code, message)  # refuses codes AWS cannot answer
        compiled(where)
        with self._lock:
            if seed is None and self._seed is not None:
                seed = self._seed + next(self._ids)
            fault = Fault(
                id=uuid.uuid4().hex[:12], service=service, operation=operation, kind=kind,
                probability=probability, count=count, after=after, delay=delay,
                status=status, code=code, message=message, where=where, action=action,
                race=race, seed=seed, rng=random.Random(seed),
            )  # fmt: skip
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

    def stream_event(
        self, table: str, action: str, account: str = ACCOUNT_ID, region: str = REGION
    ) -> None:
        """What AWS does to a table's stream over hours, now: "trim" (every record so far
        is past the 24-hour retention), "split" (open shards close, two children each),
        "expire-iterators" (every issued iterator is over 15 minutes old)."""
        from moto.dynamodb.models import dynamodb_backends

        from reconciler.sandbox.dynamodb import streams_api

        found = dynamodb_backends[account][region].tables.get(table)
        if found is None:
            raise ValueError(f"no table {table!r} in {account}/{region}")
        streams_api.event(found, action)

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return control.serve(self, environ, start_response, _read_body(environ))
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)  # type: ignore[no-any-return]

        call = _classify(environ)
        with self._lock:
            self._calls[(call.service, call.operation)] += 1
            chosen = [f for f in self._faults if f.matches(call) and f.take()]
        terminal = next((f for f in chosen if f.kind in TERMINAL), None)
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
                _reset_connection(environ)
            answer = answer_for(
                call.service,
                terminal.kind,
                terminal.status,
                terminal.code,
                terminal.message,
                call.operation,
            )
            has_target = "X-Amz-Target" in call.headers
            return error_response(call.service, has_target, answer, recording_start_response)
        finally:
            with self._lock:
                self._log.append(call.summary(status_box[0] if status_box else None))


def _classify(environ: dict[str, Any]) -> WireCall:
    body = _read_body(environ)
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw_uri:
        if "://" in raw_uri.split("?", 1)[0]:  # proxy form: an absolute URI
            parts = urlsplit(raw_uri)
            raw_path, query = parts.path, parts.query
        else:
            raw_path, _, query = raw_uri.partition("?")
    else:
        raw_path, query = quote(environ.get("PATH_INFO", "")), environ.get("QUERY_STRING", "")
    auth = environ.get("HTTP_AUTHORIZATION")
    signature, _, _ = wire_model.signature_of(auth)
    service, operation = wire_model.code_download(raw_path) or ("", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if not service:
        service = wire_model.service_of(auth, environ.get("HTTP_HOST"))
        operation = wire_model.operation_of(
            service, method, raw_path, query, environ.get("HTTP_X_AMZ_TARGET"), body,
            environ.get("CONTENT_TYPE", ""),
        )  # fmt: skip
    headers = {
        k[5:].replace("_", "-").title(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
    }
    port = int(environ.get("REMOTE_PORT") or 0)
    return WireCall(service, operation, method, raw_path, query, headers, body, signature, port)


def _reset_connection(environ: dict[str, Any]) -> NoReturn:
    """Abort the TCP connection (RST) before any byte of a response is sent."""
    from waitress.channel import ClientDisconnected

    # waitress hands the application no socket, but its disconnect probe is a bound method
    # of the connection's channel, which owns the socket.
    probe = environ.get("waitress.client_disconnected")
    sock: socket.socket | None = getattr(getattr(probe, "__self__", None), "socket", None)
    if sock is None:
        raise RuntimeError("no connection socket in environ: cannot reset the connection")
    # Linger 0 turns the close into an RST; ClientDisconnected makes waitress close the
    # channel without writing a response (and without logging an error).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _abort(sock)
    raise ClientDisconnected("sandbox: injected connection reset")


def _abort(sock: socket.socket) -> None:
    # connect(AF_UNSPEC) aborts a TCP connection in place (Linux: tcp_disconnect sends
    # RST) without closing the descriptor the server still holds; elsewhere fall back to
    # a shutdown (FIN).
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
        body = environ["wsgi.input"].read()  # chunked upload: the server de-chunks to EOF
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)  # let the app read it again
    return bytes(body)
