"""The embedded emulated AWS: moto's app, extended from outside, served over HTTP/1.1.

One process-wide install of the extensions (they patch moto's classes and URL maps),
then any number of servers. Each server is waitress (a maintained WSGI server that keeps
HTTP/1.1 connections alive, frames every answer with Content-Length or chunked encoding
and serves requests from a thread pool), in front of it the wire hooks and the gateway.
moto's own werkzeug server answers every request with `Connection: close`; SDKs that pool
connections then sometimes write to a socket the server already closed and retry a
request that had landed (aws/aws-sdk-go-v2#1825, #2737). AWS keeps connections alive, so
the sandbox does too.

Each server owns its switches, its TestFunction runner (Node) and its code downloads;
moto's state itself is process-wide, shared by every server in the process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from reconciler.sandbox import context, extensions
from reconciler.sandbox.gateway import Gateway
from reconciler.sandbox.hooks import WireHooks
from reconciler.sandbox.switches import Switches

# Request threads: the reconciler's passes, a daemon and a few SDK clients at once.
THREADS = 8


class SandboxStartError(RuntimeError):
    """The sandbox cannot start (Node missing, port taken); the message says why."""


class SandboxServer:
    """moto + the project's extensions + the wire hooks, served on host:port (0 = any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._bound_port: int | None = None
        self.hooks: WireHooks | None = None
        self.switches = Switches()

    def start(self) -> SandboxServer:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import create_server

        from reconciler.functions.node import HarnessNotInstalled
        from reconciler.sandbox.cloudfront.testfunction import NodeFunctionRunner

        extensions.install_all()
        try:
            self._runner = NodeFunctionRunner()
        except HarnessNotInstalled as exc:
            raise SandboxStartError(
                f"the sandbox runs TestFunction with the function's real code in Node: {exc}"
            ) from exc
        state = context.RequestContext(
            switches=self.switches, runner=self._runner, downloads=context.CodeDownloads()
        )
        gateway = Gateway(DomainDispatcherApplication(create_backend_app), state, self._host)
        self.hooks = WireHooks(gateway, self.switches)
        for name in ("waitress", "waitress.queue"):
            # One line per dropped client or queued task would drown the daemon's own logs.
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            self._server = create_server(
                self.hooks,
                host=self._host,
                port=self._port,
                threads=THREADS,
                ident="reconciler-sandbox",
                clear_untrusted_proxy_headers=False,
                channel_timeout=120,
            )
        except OSError as exc:
            self._runner.close()
            raise SandboxStartError(
                f"cannot listen on {self._host}:{self._port}: {exc.strerror or exc}"
            ) from exc
        self._bound_port = int(self._server.effective_port)
        gateway.port = self._bound_port
        self._thread = threading.Thread(target=self._server.run, name="sandbox-aws", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._bound_port is not None, "start() first"
        return self._bound_port

    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            from waitress import wasyncore

            # Let the requests being served finish, then close the listener and every
            # open keep-alive connection from the loop's own thread (the loop owns the
            # sockets), which ends run().
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
