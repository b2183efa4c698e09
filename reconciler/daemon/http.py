"""The operators' HTTP endpoint: probes, metrics, status, the actions and the webhooks.

A WSGI application on the standard library's wsgiref server (prometheus-client's
threading variant), so /metrics is prometheus-client's own handler: content negotiation
(Prometheus text or OpenMetrics, from the Accept header), gzip, `name[]` filters.

The POST actions need `Authorization: Bearer <API token>`; without a configured token
they are refused (403), so a daemon started without one can be read but not steered.
Webhooks carry their own signatures (daemon/webhooks.py).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, make_server

import structlog
from prometheus_client import CollectorRegistry, Counter, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from reconciler.daemon.auth import Secret, bearer_matches
from reconciler.daemon.webhooks import MAX_BODY, Reply, WebhookReceiver

log = structlog.get_logger("reconciler.daemon.http")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_REASONS = {
    200: "OK",
    202: "Accepted",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
# The actions' bodies are ignored; anything larger than this is refused unread.
MAX_ACTION_BODY = 64 * 1024


class Api(Protocol):
    def healthz(self) -> tuple[bool, str]: ...
    def readyz(self) -> tuple[bool, str]: ...
    def status_json(self) -> dict[str, Any]: ...
    def suspend(self) -> dict[str, Any]: ...
    def resume(self) -> dict[str, Any]: ...
    def reconcile(self) -> dict[str, Any]: ...


ENDPOINTS = [
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /status",
    "POST /suspend",
    "POST /resume",
    "POST /reconcile",
    "POST /hook/github",
    "POST /hook/gitlab",
    "POST /hook/generic",
]


class Application:
    """The WSGI application: routes a request to the Api, the metrics or a webhook."""

    def __init__(
        self,
        api: Api,
        registry: CollectorRegistry,
        token: Secret,
        webhooks: WebhookReceiver | None,
        requests: Counter,
    ) -> None:
        self._api = api
        self._metrics = make_wsgi_app(registry)
        self._token = token
        self._webhooks = webhooks
        self._requests = requests  # reconciler_http_requests_total{endpoint,code}

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/metrics" and method in ("GET", "HEAD", "OPTIONS"):
            self._count("/metrics", 200)
            return self._metrics(environ, start)  # type: ignore[no-any-return]
        try:
            code, body, content_type, extra = self._route(method, path, environ)
        except Exception:  # a bug answers 500 and is logged; the server keeps serving
            log.exception("api.crashed", method=method, endpoint=_endpoint(path))
            code, body, content_type, extra = _json(500, {"error": "internal error (logged)"})
        self._count(_endpoint(path), code)
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *extra,
        ]
        start(f"{code} {_REASONS.get(code, '')}", headers)
        return [] if method == "HEAD" else [body]

    def _count(self, endpoint: str, code: int) -> None:
        self._requests.labels(endpoint=endpoint, code=str(code)).inc()

    def _route(
        self, method: str, path: str, environ: dict[str, Any]
    ) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        api = self._api
        if method in ("GET", "HEAD"):
            if path in ("/healthz", "/readyz"):
                ok, message = api.healthz() if path == "/healthz" else api.readyz()
                return 200 if ok else 503, (message + "\n").encode(), "text/plain; charset=utf-8", []
            if path == "/status":
                return _json(200, api.status_json())
            if path in ACTIONS or path.startswith("/hook/"):
                return _json(405, {"error": f"use POST {path}"}, [("Allow", "POST")])
            return _json(404, {"error": "not found", "endpoints": ENDPOINTS})
        if method != "POST":
            return _json(405, {"error": f"{method} is not served"}, [("Allow", "GET, POST")])
        client = str(environ.get("REMOTE_ADDR", ""))
        if path.startswith("/hook/"):
            return self._webhook(path.removeprefix("/hook/"), environ, client)
        action = ACTIONS.get(path)
        if action is None:
            return _json(404, {"error": "not found", "endpoints": ENDPOINTS})
        refused = self._refused(environ, client, action)
        if refused is not None:
            return refused
        _read_body(environ, MAX_ACTION_BODY)  # unused; read so the connection stays sane
        log.info("api.accepted", action=action, client=client)
        return _json(202, getattr(api, action)())

    def _refused(
        self, environ: dict[str, Any], client: str, action: str
    ) -> tuple[int, bytes, str, list[tuple[str, str]]] | None:
        token = self._token.get()
        if token is None:
            log.warning("api.refused", action=action, client=client, why="no API token configured")
            return _json(
                403,
                {
                    "error": "POST endpoints are disabled: no API token is configured "
                    "(RECONCILER_API_TOKEN or RECONCILER_API_TOKEN_FILE)"
                },
            )
        if not bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            log.warning("api.refused", action=action, client=client, why="missing or wrong token")
            return _json(
                401,
                {"error": "Authorization: Bearer <API token> required"},
                [("WWW-Authenticate", 'Bearer realm="reconciler"')],
            )
        return None

    def _webhook(
        self, kind: str, environ: dict[str, Any], client: str
    ) -> tuple[int, bytes, str, list[tuple[str, str]]]:
        if self._webhooks is None:
            return _json(404, {"error": "webhooks are off: no webhook secret configured"})
        body = _read_body(environ, MAX_BODY)
        if body is None:
            return _json(413, {"error": f"body larger than {MAX_BODY} bytes"})
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        reply: Reply = self._webhooks.handle(kind, headers, body, client)
        return _json(reply.code, reply.payload)


ACTIONS = {"/suspend": "suspend", "/resume": "resume", "/reconcile": "reconcile"}


def _endpoint(path: str) -> str:
    """A bounded label: known paths as they are, anything else `other`."""
    known = {"/healthz", "/readyz", "/status", *ACTIONS}
    known |= {f"/hook/{k}" for k in ("github", "gitlab", "generic")}
    return path if path in known else "other"


def _read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json(
    code: int, payload: Any, extra: list[tuple[str, str]] | None = None
) -> tuple[int, bytes, str, list[tuple[str, str]]]:
    body = (json.dumps(payload, indent=2) + "\n").encode()
    return code, body, "application/json", extra or []


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # Probes every few seconds would drown the log; actions are logged by the app.
        pass


class _Server(ThreadingWSGIServer):
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class HttpServer:
    def __init__(self, host: str, port: int, app: Application) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
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
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
