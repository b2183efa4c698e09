"""Registration of the KeyValueStore data plane in moto's server (see the package docstring)."""

from __future__ import annotations

import re
import sys
import threading
import types
from collections.abc import Callable
from typing import Any, ClassVar

from reconciler.sandbox.kvs import responses

SERVICE = "cloudfront-keyvaluestore"
# moto's get_backend() strips dashes and imports moto.<that>; the backends attribute is
# "<that>_backends".
MOTO_MODULE = "moto.cloudfrontkeyvaluestore"
BACKENDS_ATTR = "cloudfrontkeyvaluestore_backends"
# The host the SigV4A patch routes to; any host moto can match to this service will do.
INTERNAL_HOST = f"{SERVICE}.amazonaws.com"

_lock = threading.Lock()
_installed = False


class _Router:
    """The 'backend' moto's create_backend_app asks for URL rules; holds no state."""

    flask_paths: ClassVar[dict[str, Callable[..., Any]]] = {
        "/key-value-stores/<path:route>": responses.handle,
    }


def sigv4a_scope(authorization: str | None) -> str | None:
    """The service named by a SigV4A Authorization header, None if not SigV4A."""
    if not authorization or not authorization.startswith("AWS4-ECDSA-P256-SHA256"):
        return None
    try:
        scope = authorization.split(",")[0].split()[1].split("=", 1)[1]
        _akid, _date, service, _terminator = scope.split("/")
    except (IndexError, ValueError):
        return None
    return service.lower()


def install() -> None:
    """Register the service with moto's server (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto import backend_index
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        module = types.ModuleType(MOTO_MODULE, __doc__)
        setattr(module, BACKENDS_ATTR, {"global": _Router()})
        sys.modules[MOTO_MODULE] = module
        backend_index.backend_url_patterns.append(
            (SERVICE, re.compile(r"https?://cloudfront-keyvaluestore\.amazonaws\.com"))
        )
        # The real host, for clients that reach the sandbox as a proxy.
        backend_index.backend_url_patterns.append(
            (SERVICE, re.compile(r"https?://(\d{12}\.)?cloudfront-kvs\.global\.api\.aws"))
        )

        original = DomainDispatcherApplication.infer_service_region_host

        def infer_service_region_host(
            self: DomainDispatcherApplication, environ: dict[str, Any], path: str
        ) -> str | None:
            auth = environ.get("HTTP_AUTHORIZATION")
            if sigv4a_scope(auth) == SERVICE or (auth and f"/{SERVICE}/aws4_request" in auth):
                return INTERNAL_HOST
            return original(self, environ, path)

        infer_service_region_host.__wrapped__ = original  # type: ignore[attr-defined]
        DomainDispatcherApplication.infer_service_region_host = infer_service_region_host  # type: ignore[method-assign]
        _installed = True
