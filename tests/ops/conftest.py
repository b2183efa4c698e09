"""Fixtures of the operations tests: the whole-pass fixtures (seeded sandbox, a private
copy of the example repository) plus downloadable Lambda packages.

moto answers GetFunction with a Location that cannot be fetched (`https://awslambda-
<region>-tasks.s3...`, nothing behind it; see moto/awslambda/models.py "TODO: we should be
putting this in a lambda bucket"). Real AWS gives a presigned S3 URL. So that the importer's
real download path runs, the fixture points Location at a local HTTP server that serves
the bytes moto stored for that version. This fills an emulator gap; it belongs in
reconciler/sandbox/ (so `reconciler sandbox` users can import Lambda@Edge too) and lives
here only because this change may not touch the sandbox.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["lambda_packages"]


@pytest.fixture
def lambda_packages(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    from moto.awslambda.models import LambdaFunction

    packages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = packages.get(self.path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    original = LambdaFunction.get_code

    def get_code(self: Any) -> dict[str, Any]:
        resp: dict[str, Any] = original(self)
        code = resp.get("Code") or {}
        if code.get("RepositoryType") == "S3":
            key = f"{self.function_name}/{self.version}"
            packages[key] = bytes(self.code_bytes)
            code["Location"] = f"http://127.0.0.1:{server.server_address[1]}/{key}"
        return resp

    monkeypatch.setattr(LambdaFunction, "get_code", get_code)
    yield packages
    server.shutdown()
    server.server_close()
