"""(scaffold) WSGI middleware: call counting and fault injection. Replaced by its owner."""

from __future__ import annotations

from typing import Any


class WireHooks:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)
