"""The operators' HTTP endpoint: probes, metrics, status, suspend/resume.

stdlib http.server in a thread: a handful of requests a minute does not need more, and
it keeps the container free of another web framework.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import structlog

log = structlog.get_logger("reconciler.daemon.http")


class Api(Protocol):
    def healthz(self) -> tuple[bool, str]: ...
    def readyz(self) -> tuple[bool, str]: ...
    def metrics_text(self) -> tuple[bytes, str]: ...
    def status_json(self) -> dict[str, Any]: ...
    def suspend(self) -> dict[str, Any]: ...
    def resume(self) -> dict[str, Any]: ...
    def reconcile(self) -> dict[str, Any]: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        api = self.server.api
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/readyz"):
            ok, message = api.healthz() if path == "/healthz" else api.readyz()
            self._send(200 if ok else 503, (message + "\n").encode(), "text/plain; charset=utf-8")
        elif path == "/metrics":
            body, content_type = api.metrics_text()
            self._send(200, body, content_type)
        elif path == "/status":
            self._json(200, api.status_json())
        elif path in ("/suspend", "/resume", "/reconcile"):
            self._json(405, {"error": f"use POST {path}"})
        else:
            self._json(404, {"error": "not found", "endpoints": ENDPOINTS})

    def do_POST(self) -> None:
        api = self.server.api
        path = self.path.split("?", 1)[0]
        # The body is not used, but must be read for the connection to be reusable.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        actions = {"/suspend": api.suspend, "/resume": api.resume, "/reconcile": api.reconcile}
        action = actions.get(path)
        if action is None:
            self._json(404, {"error": "not found", "endpoints": ENDPOINTS})
            return
        log.info("http.action", action=path.strip("/"), client=self.client_address[0])
        self._json(202, action())

    def _json(self, code: int, payload: Any) -> None:
        self._send(code, (json.dumps(payload, indent=2) + "\n").encode(), "application/json")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Probes every few seconds would drown the log; actions are logged above.
        pass


ENDPOINTS = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /status",
    "POST /suspend",
    "POST /resume",
    "POST /reconcile",
]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        super().__init__(address, _Handler)
        self.api = api


class HttpServer:
    def __init__(self, host: str, port: int, api: Api) -> None:
        self._server = _Server((host, port), api)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="http",
            kwargs={"poll_interval": 0.25},
            daemon=True,
        )

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
