"""What a request on the wire is: which service, which operation, which signature.

The service comes from the SigV4 / SigV4A credential scope (or the host); the operation
from X-Amz-Target (JSON protocols), the Action parameter (query protocol) or, for REST
protocols, the method and path matched against botocore's own service model URIs, so the
names are exactly the ones boto3 users see (e.g. UpdateKeys, GetDistributionConfig).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

UNKNOWN = "Unknown"

# Signing names that differ from botocore's service names.
_SIGNING_TO_SERVICE = {"execute-api": "apigateway", "events": "events"}
_HOST_SERVICE = re.compile(
    r"^(?:\d{12}\.)?(?P<svc>[a-z0-9-]+)\.(?:[a-z0-9-]+\.)?(?:amazonaws\.com|api\.aws)"
)
_LABEL = re.compile(r"\{([^}]+)\}")
# GetFunction's presigned Code.Location on the sandbox (awslambda/code_location.py): an
# S3 GetObject of the bucket AWS keeps Lambda packages in.
CODE_PATH = re.compile(r"^/awslambda-[a-z0-9-]+-tasks/snapshots/\d{12}/[^/]+$")


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    required_query: frozenset[tuple[str, str | None]]  # (name, value or None: any)
    specificity: int


@dataclass(frozen=True)
class ServiceShape:
    protocol: str
    routes: tuple[Route, ...]


def code_download(raw_path: str) -> tuple[str, str] | None:
    return ("s3", "GetObject") if CODE_PATH.match(raw_path) else None


def signature_of(authorization: str | None) -> tuple[str, str | None, str | None]:
    """(algorithm, service, region) from an Authorization header; region None for SigV4A."""
    if not authorization:
        return "none", None, None
    algorithm = authorization.split(" ", 1)[0]
    try:
        scope = authorization.split(",")[0].split()[1].split("=", 1)[1].split("/")
    except IndexError:
        return algorithm, None, None
    if algorithm == "AWS4-HMAC-SHA256" and len(scope) == 5:
        return "sigv4", scope[3].lower(), scope[2]
    if algorithm == "AWS4-ECDSA-P256-SHA256" and len(scope) == 4:
        return "sigv4a", scope[2].lower(), None
    return algorithm, None, None


def service_of(authorization: str | None, host: str | None) -> str:
    _, service, _ = signature_of(authorization)
    if service:
        return _SIGNING_TO_SERVICE.get(service, service)
    match = _HOST_SERVICE.match(host or "")
    if match:
        svc = match["svc"]
        return "cloudfront-keyvaluestore" if svc == "cloudfront-kvs" else svc
    return "unknown"


_model_lock = threading.Lock()


@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def shape_of(service: str) -> ServiceShape | None:
    """The protocol and REST routes of a service, from botocore's model (None if unknown)."""
    from botocore.exceptions import UnknownServiceError

    with _model_lock:  # botocore's loader is not documented as thread-safe
        try:
            model = _session().get_service_model(service)
        except UnknownServiceError:
            return None
    protocol = str(model.metadata.get("protocol", ""))
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri: str = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        regex = ""
        pos = 0
        for m in _LABEL.finditer(path):
            regex += re.escape(path[pos : m.start()])
            regex += ".+" if m.group(1).endswith("+") else "[^/]+"
            pos = m.end()
        regex += re.escape(path[pos:])
        literal = len(_LABEL.sub("", path))
        required = frozenset(
            (name, value if sep else None)
            for name, sep, value in (q.partition("=") for q in query.split("&") if q)
        )
        routes.append(
            Route(
                operation=name,
                method=http.get("method", "POST").upper(),
                pattern=re.compile(regex.rstrip("/") + "/?"),
                required_query=required,
                specificity=literal * 10 + len(required),
            )
        )
    routes.sort(key=lambda r: -r.specificity)
    return ServiceShape(protocol=protocol, routes=tuple(routes))


def _described(shape: Any) -> tuple[int, str]:
    # JSON-protocol models carry no status: "fault" (the server's) is 500, the rest 400.
    fault = shape._shape_model.get("fault")
    status = (shape.metadata.get("error") or {}).get("httpStatusCode") or (500 if fault else 400)
    text = re.sub(r"<[^>]+>", "", shape.documentation or "").strip()
    return int(status), " ".join(text.split())


def _model(service: str) -> Any:
    from botocore.exceptions import UnknownServiceError

    with _model_lock:
        try:
            return _session().get_service_model(service)
        except UnknownServiceError:
            return None


@functools.cache
def error_shape(service: str, code: str) -> tuple[int, str] | None:
    """(HTTP status, documentation text) of an error the service's model declares."""
    model = _model(service)
    for shape in model.error_shapes if model is not None else ():
        if code in (shape.name, getattr(shape, "error_code", None)):
            return _described(shape)
    return None


@functools.cache
def operation_errors(service: str, operation: str) -> dict[str, tuple[int, str]]:
    """{code: (status, documentation)} of the errors the model declares for one operation."""
    model = _model(service)
    if model is None or operation not in model.operation_names:
        return {}
    return {s.name: _described(s) for s in model.operation_model(operation).error_shapes}


def operation_of(
    service: str,
    method: str,
    raw_path: str,
    query: str,
    target: str | None,
    body: bytes,
    ctype: str,
) -> str:
    if target and "." in target:
        return target.rsplit(".", 1)[1]
    params = parse_qs(query)
    if "Action" not in params and ctype.startswith("application/x-www-form-urlencoded"):
        params = parse_qs(body.decode("utf-8", "replace"))
    if "Action" in params:
        return params["Action"][0]
    shape = shape_of(service)
    if shape is None:
        return UNKNOWN
    present = parse_qs(query, keep_blank_values=True)
    for route in shape.routes:
        if (
            route.method == method.upper()
            and route.pattern.fullmatch(raw_path)
            and all(
                name in present and (value is None or value in present[name])
                for name, value in route.required_query
            )
        ):
            return route.operation
    return UNKNOWN
