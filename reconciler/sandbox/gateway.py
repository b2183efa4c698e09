"""The sandbox's front door: what a request needs before moto sees it.

- Binds the request context (context.py): this server's switches, TestFunction runner,
  code downloads and the address the client reached it at.
- Serves GetFunction's presigned code URLs (awslambda/code_location.py).
- Accepts requests in proxy form (`GET http://host/path HTTP/1.1`), so that one
  HTTP_PROXY setting makes every SDK reach the sandbox, including for the KeyValueStore
  data plane whose endpoint host every SDK prefixes with the account id
  (`123456789012.127.0.0.1:4566` resolves nowhere; through a proxy nothing resolves it).
  AWS host names and the sandbox's own address are served; other loopback addresses (a
  local edge, the daemon's status port) are forwarded, so an exported HTTP_PROXY does
  not break them; any other host is refused with 502 and a message saying to keep it out
  of the proxy (NO_PROXY). The sandbox is no general-purpose proxy.
- Gives moto the raw request URI it reads percent-encoded paths from (RAW_URI).
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from reconciler.sandbox import context, wire_model
from reconciler.sandbox.awslambda import code_location

_AWS_HOST = re.compile(r"(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$")
_ACCOUNT_PREFIX = re.compile(r"^\d{12}\.")
_LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class Gateway:
    def __init__(self, app: Any, state: context.RequestContext, host: str) -> None:
        self.app = app
        self.state = state
        self.host = host
        self.port = 0  # set by the server once it is bound

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw_uri = environ.get("REQUEST_URI") or ""
        environ.setdefault("RAW_URI", raw_uri)
        target_host = _host_only(environ.get("HTTP_HOST") or "")
        if "://" in raw_uri.split("?", 1)[0] and not self._serves(urlsplit(raw_uri).netloc):
            netloc = urlsplit(raw_uri).netloc
            if _host_only(netloc) in _LOCAL_NAMES or _host_only(netloc).startswith("127."):
                return _forward(environ, start_response, raw_uri)
            return _refuse(start_response, netloc)
        if environ.get("REQUEST_METHOD") == "CONNECT":
            return _refuse(start_response, raw_uri, tunnel=True)
        request = context.RequestContext(
            switches=self.state.switches,
            base_url=self._base_url(environ, target_host),
            runner=self.state.runner,
            downloads=self.state.downloads,
        )
        with context.bound(request):
            if wire_model.CODE_PATH.match(environ.get("PATH_INFO", "")):
                return code_location.serve(environ, start_response)
            return self.app(environ, start_response)  # type: ignore[no-any-return]

    def _serves(self, netloc: str) -> bool:
        host = _ACCOUNT_PREFIX.sub("", _host_only(netloc))
        if _AWS_HOST.search(host):
            return True
        port = netloc.rsplit(":", 1)[1] if ":" in netloc.lstrip("[").split("]")[-1] else "80"
        own = host in _LOCAL_NAMES | {self.host} or (self.host == "0.0.0.0")
        return own and port == str(self.port)

    def _base_url(self, environ: dict[str, Any], host: str) -> str:
        """The address to hand out in URLs: the one the client used, unless that was an
        AWS name (proxy mode), then the server's own."""
        given = environ.get("HTTP_HOST") or ""
        if given and not _AWS_HOST.search(_ACCOUNT_PREFIX.sub("", host)):
            return f"http://{_ACCOUNT_PREFIX.sub('', given)}"
        name = environ.get("SERVER_NAME") or self.host
        if name in ("0.0.0.0", "::", ""):
            name = "127.0.0.1"
        return f"http://{name}:{environ.get('SERVER_PORT') or self.port}"


_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "content-length"}
)  # fmt: skip


def _forward(environ: dict[str, Any], start_response: Any, raw_uri: str) -> Iterable[bytes]:
    """Relay one plain-HTTP request to another loopback server and its whole answer back."""
    parts = urlsplit(raw_uri)
    body = environ["wsgi.input"].read()
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=60
    )
    try:
        connection.request(environ.get("REQUEST_METHOD", "GET"), path or "/", body or None, headers)
        reply = connection.getresponse()
        data = reply.read()
    except OSError as exc:
        message = f"the sandbox could not reach {parts.netloc}: {exc}\n".encode()
        start_response(
            "502 Bad Gateway",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(message)))],
        )
        return [message]
    finally:
        connection.close()
    kept = [(k, v) for k, v in reply.getheaders() if k.lower() not in _HOP_BY_HOP]
    start_response(f"{reply.status} {reply.reason}", [*kept, ("Content-Length", str(len(data)))])
    return [data]


def _host_only(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc.split("]", 1)[0] + "]"
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def _refuse(start_response: Any, target: str, tunnel: bool = False) -> Iterable[bytes]:
    why = (
        "the sandbox speaks plain HTTP and does not open tunnels: point the client's "
        "endpoint URL at http://<sandbox>/ and keep HTTP_PROXY for the KeyValueStore host"
        if tunnel
        else f"the sandbox proxies AWS host names and itself only, not {target}: "
        "add that host to NO_PROXY"
    )
    body = (why + "\n").encode()
    status = "405 Method Not Allowed" if tunnel else "502 Bad Gateway"
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]
