"""A real HTTP receiver for notification tests: records every request (path, headers,
body) and answers with scripted status codes per path (default 200)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answers[path]`: status codes to answer in turn (then 200); `delay`: seconds each."""

    answers: dict[str, list[int]] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)  # a slow receiver
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    script = receiver.answers.get(self.path) or []
                    code = script.pop(0) if script else 200
                payload = b'{"ok": true}' if code < 300 else b'{"error": "scripted"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if code == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait(self, predicate: Callable[[list[Received]], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                value = predicate(list(self.received))
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver: condition not met in {timeout}s; got "
                    f"{[(r.path, r.body[:200]) for r in self.received]}"
                )
            time.sleep(0.02)  # polling what another thread received
