"""Which sandbox server the request being served arrived at.

moto's backends are process-wide, but the behaviour switches, the TestFunction runner,
the code-download registry and the address clients reach the server at belong to one
server. The server's WSGI gateway binds them here for the duration of a request; the
patched moto code runs in the same thread and reads them. Outside a request (a unit test
calling a model directly) the defaults apply and no runner is there.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from reconciler.sandbox.switches import Switches

# runner(code, event, kvs_entries or None) -> one execution, shaped like
# reconciler.sandbox.cloudfront.testfunction.FunctionRunResult.
FunctionRunner = Callable[[str, dict[str, Any], dict[str, str] | None], Mapping[str, Any]]


class CodeDownloads:
    """Packages GetFunction handed out as presigned URLs: key -> (zip bytes, expiry).

    The bytes are moto's own object (no copy); the oldest entries are forgotten first
    once `limit` are held, like S3 lifecycle rules would.
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._items: collections.OrderedDict[str, tuple[bytes, float]] = collections.OrderedDict()

    def register(self, key: str, body: bytes, expires_at: float) -> None:
        with self._lock:
            self._items[key] = (body, expires_at)
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def lookup(self, key: str) -> tuple[bytes, float] | None:
        with self._lock:
            return self._items.get(key)


@dataclass
class RequestContext:
    switches: Switches = field(default_factory=Switches)
    # scheme://host:port clients reach this server at (for URLs the server hands out).
    base_url: str = "http://127.0.0.1"
    runner: FunctionRunner | None = None
    downloads: CodeDownloads | None = None


_current: ContextVar[RequestContext | None] = ContextVar("sandbox_request", default=None)
_DEFAULT = RequestContext()


def current() -> RequestContext:
    return _current.get() or _DEFAULT


@contextlib.contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
