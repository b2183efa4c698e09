"""The local edge's HTTP front: a threaded stdlib server handing each request to the pipeline."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import structlog

from reconciler.edge.lambda_invoker import LambdaEdgeInvoker
from reconciler.edge.model import ViewerRequest
from reconciler.edge.origins import OriginBackends
from reconciler.edge.pipeline import EdgePipeline
from reconciler.edge.sandbox_state import SandboxState
from reconciler.emulator import DISTRIBUTION_COMMENT
from reconciler.functions.cloudfront import CloudFrontFunctionRunner

log = structlog.get_logger("reconciler.edge")


class _EdgeHandler(BaseHTTPRequestHandler):
    server: _EdgeHttpServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        viewer = ViewerRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=tuple(self.headers.items()),
            body=body,
            client_ip=self.client_address[0],
        )
        response = self.server.pipeline.handle(viewer)
        # send_response_only: the origin's own Server and Date pass through, as at CloudFront.
        self.send_response_only(response.status, response.reason or None)
        names = {name.lower() for name, _ in response.headers}
        if "server" not in names:
            self.send_header("Server", "CloudFront")
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: object) -> None:
        pass  # the pipeline logs one structured line per request instead


class _EdgeHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, pipeline: EdgePipeline) -> None:
        super().__init__((host, port), _EdgeHandler)
        self.pipeline = pipeline


@dataclass
class LocalEdge:
    """A running edge, its origin backends and its function runners; stop() ends them all."""

    url: str
    state: SandboxState
    backends: OriginBackends
    _server: _EdgeHttpServer
    _functions: CloudFrontFunctionRunner
    _lambdas: LambdaEdgeInvoker
    _thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.backends.stop()
        self._functions.close()
        self._lambdas.close()
        log.info("edge.stopped", url=self.url)

    def __enter__(self) -> LocalEdge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_edge(
    sandbox_endpoint: str,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    distribution_comment: str = DISTRIBUTION_COMMENT,
    distribution_id: str | None = None,
    state_ttl: float = 0.5,
) -> LocalEdge:
    """Start origin backends and an edge on host:port (0 = a free port) for the sandbox.

    The sandbox may run in another process (Lambda@Edge packages come from Code.Location)
    and the distribution must exist (seeded); functions and stores may come later, with
    the first reconcile pass. `state_ttl` is how long a read of the emulated AWS is reused.
    """
    state = SandboxState(
        sandbox_endpoint,
        distribution_comment=distribution_comment,
        distribution_id=distribution_id,
        ttl=state_ttl,
    )
    backends = OriginBackends()
    backends.serve(state.origin_domains())
    functions = CloudFrontFunctionRunner()
    functions.start()
    lambdas = LambdaEdgeInvoker(sandbox_endpoint)
    server = _EdgeHttpServer(host, port, EdgePipeline(state, backends, functions, lambdas))
    thread = threading.Thread(
        target=server.serve_forever, args=(0.1,), name="local-edge", daemon=True
    )
    thread.start()
    url = f"http://{host}:{server.server_address[1]}"
    log.info(
        "edge.started",
        url=url,
        sandbox=sandbox_endpoint,
        origins={a.domain: a.url for a in backends.addresses()},
    )
    return LocalEdge(url, state, backends, server, functions, lambdas, thread)
