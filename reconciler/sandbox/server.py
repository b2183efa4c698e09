"""The embedded emulated AWS: moto's server, extended from outside, behind the wire hooks.

One process-wide install of the extensions (they patch moto's classes and URL maps), then
any number of servers, each a threaded werkzeug server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from reconciler.sandbox import extensions
from reconciler.sandbox.hooks import WireHooks


class SandboxServer:
    """moto + the project's extensions + the wire hooks, served on host:port (0 = any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, run_functions: bool = False) -> None:
        self._host = host
        self._port = port
        # TestFunction runs the function's real code in the Node harness (process-wide).
        self._run_functions = run_functions
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.hooks: WireHooks | None = None

    def start(self) -> SandboxServer:
        # Imported here so that merely importing this module does not pull in moto.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        extensions.install_all()
        if self._run_functions:
            enable_function_runner()
        app: Any = DomainDispatcherApplication(create_backend_app)
        self.hooks = WireHooks(app)
        self._server = make_server(
            self._host, self._port, self.hooks, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-aws", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def enable_function_runner() -> bool:
    """Lets the emulated TestFunction execute code with the Node harness, when Node is here."""
    if shutil.which("node") is None:
        return False
    from reconciler.functions.cloudfront import execute_for_sandbox
    from reconciler.sandbox import cloudfront_functions

    cloudfront_functions.set_test_function_runner(execute_for_sandbox)
    return True
