"""Local stand-ins for the origins: one tiny HTTP server per origin domain name.

Like the seed's API Gateway mock integrations, each answers any method with a JSON body
naming itself, so a test (or a curl) sees which backend a request reached. One port per
domain, rather than one server reading the Host header, because the Host header is what a
function may change: the backend's name must not depend on it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class _EchoHandler(BaseHTTPRequestHandler):
    server: _EchoServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        payload = {
            "backend": self.server.backend,
            "host": self.headers.get("Host"),
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "bodyBytes": len(body),
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        raw = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("X-Backend", self.server.backend)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request on stderr would bury the edge's structured log


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, backend: str) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.backend = backend


@dataclass(frozen=True)
class BackendAddress:
    domain: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class OriginBackends:
    """Starts a backend per domain on demand; `address(domain)` is None for unknown ones."""

    def __init__(self) -> None:
        self._servers: dict[str, _EchoServer] = {}
        self._lock = threading.Lock()

    def serve(self, domains: set[str] | frozenset[str]) -> None:
        with self._lock:
            for domain in sorted(domains):
                if domain in self._servers:
                    continue
                server = _EchoServer(domain)
                threading.Thread(
                    target=server.serve_forever, args=(0.1,), name=f"origin-{domain}", daemon=True
                ).start()
                self._servers[domain] = server

    def address(self, domain: str) -> BackendAddress | None:
        server = self._servers.get(domain.lower())
        if server is None:
            return None
        return BackendAddress(domain.lower(), "127.0.0.1", int(server.server_address[1]))

    def addresses(self) -> list[BackendAddress]:
        found = [self.address(d) for d in sorted(self._servers)]
        return [a for a in found if a is not None]

    def stop(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, {}
        for server in servers.values():
            server.shutdown()
            server.server_close()
