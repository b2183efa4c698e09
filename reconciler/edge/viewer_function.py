"""The CloudFront Functions side of a request: the event in, the request or response out.

The event follows the CloudFront Functions event structure: lowercase header names,
`{value}` objects with `multiValue` only when a name repeats, the Cookie header moved
into `cookies`, query string names and values exactly as the viewer sent them (not
URL-decoded).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.edge.model import EdgeResponse, ForwardRequest, OriginTarget, ViewerRequest


class FunctionResultInvalid(ValueError):
    """The function returned something that is neither a request nor a response."""


def _value_objects(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    objects: dict[str, dict[str, Any]] = {}
    for name, values in grouped.items():
        entry: dict[str, Any] = {"value": values[0]}
        if len(values) > 1:
            entry["multiValue"] = [{"value": v} for v in values]
        objects[name] = entry
    return objects


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part == "":
            continue
        name, _, value = part.partition("=")
        pairs.append((name, value))
    return pairs


def _cookie_pairs(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = []
    for name, value in headers:
        if name.lower() != "cookie":
            continue
        for part in value.split(";"):
            cookie_name, sep, cookie_value = part.strip().partition("=")
            if cookie_name and sep:
                pairs.append((cookie_name, cookie_value))
    return pairs


def viewer_request_event(
    request: ViewerRequest, *, distribution_id: str, distribution_domain: str, request_id: str
) -> dict[str, Any]:
    headers = [(k.lower(), v) for k, v in request.headers if k.lower() != "cookie"]
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": distribution_domain,
            "distributionId": distribution_id,
            "eventType": "viewer-request",
            "requestId": request_id,
        },
        "viewer": {"ip": request.client_ip},
        "request": {
            "method": request.method,
            "uri": request.path,
            "querystring": _value_objects(_query_pairs(request.query)),
            "headers": _value_objects(headers),
            "cookies": _value_objects(_cookie_pairs(request.headers)),
        },
    }


def _expanded(objects: Any, what: str) -> list[tuple[str, str]]:
    if objects is None:
        return []
    if not isinstance(objects, Mapping):
        raise FunctionResultInvalid(f"{what} must be an object")
    pairs: list[tuple[str, str]] = []
    for name, entry in objects.items():
        if not isinstance(entry, Mapping):
            raise FunctionResultInvalid(f"{what}.{name} must be an object with a value")
        many = entry.get("multiValue")
        values = [m.get("value", "") for m in many] if many else [entry.get("value", "")]
        pairs.extend((str(name), str(v)) for v in values)
    return pairs


def _serialize_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" if v != "" else k for k, v in pairs)


def is_response(output: Mapping[str, Any]) -> bool:
    return "statusCode" in output


def forward_from_function(output: Any, viewer: ViewerRequest) -> ForwardRequest:
    """The request the function returned, as it continues towards the origin."""
    if not isinstance(output, Mapping) or not isinstance(output.get("uri"), str):
        raise FunctionResultInvalid("the function must return the request or a response")
    headers = _expanded(output.get("headers"), "headers")
    cookies = _expanded(output.get("cookies"), "cookies")
    if cookies:
        headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies)))
    return ForwardRequest(
        method=viewer.method,  # read-only for CloudFront Functions
        uri=output["uri"],
        query=_serialize_query(_expanded(output.get("querystring"), "querystring")),
        headers=tuple(headers),
        body=viewer.body,
    )


def response_from_function(output: Mapping[str, Any]) -> EdgeResponse:
    status = output.get("statusCode")
    if not isinstance(status, int) or not 200 <= status <= 599:
        raise FunctionResultInvalid(f"statusCode must be an integer HTTP status, got {status!r}")
    headers = _expanded(output.get("headers"), "headers")
    for name, entry in (output.get("cookies") or {}).items():
        attributes = entry.get("attributes")
        cookie = f"{name}={entry.get('value', '')}"
        headers.append(("set-cookie", f"{cookie}; {attributes}" if attributes else cookie))
    body = output.get("body", "")
    if isinstance(body, Mapping):
        data = str(body.get("data", ""))
        raw = base64.b64decode(data) if body.get("encoding") == "base64" else data.encode()
    else:
        raw = str(body).encode()
    return EdgeResponse(
        status=status,
        reason=str(output.get("statusDescription", "")),
        headers=tuple(headers),
        body=raw,
        generated_by="viewer-request function",
    )


def apply_origin_changes(
    origin: OriginTarget,
    changes: Iterable[Mapping[str, Any]],
    origins_by_id: Mapping[str, OriginTarget],
) -> OriginTarget:
    """updateRequestOrigin / selectRequestOriginById, in call order; unset fields inherit."""
    for change in changes:
        helper = change.get("helper")
        args = change.get("args") or {}
        if helper == "updateRequestOrigin":
            origin = _override(origin, args)
        elif helper == "selectRequestOriginById":
            origin_id = str(args.get("originId"))
            if origin_id not in origins_by_id:
                raise FunctionResultInvalid(
                    f"selectRequestOriginById: no origin with id {origin_id!r} in the distribution"
                )
            origin = _override(origins_by_id[origin_id], args.get("overrides") or {})
        else:
            raise FunctionResultInvalid(f"{helper} is not supported by the local edge")
    return origin


def _override(origin: OriginTarget, args: Mapping[str, Any]) -> OriginTarget:
    changes: dict[str, Any] = {}
    if "domainName" in args:
        changes["domain_name"] = str(args["domainName"])
    if "originPath" in args:
        changes["path"] = str(args["originPath"])
    timeouts = args.get("timeouts") or {}
    for source, target in (
        ("readTimeout", "read_timeout"),
        ("keepAliveTimeout", "keepalive_timeout"),
        ("connectionTimeout", "connection_timeout"),
    ):
        if source in timeouts:
            changes[target] = int(timeouts[source])
    custom = args.get("customOriginConfig") or {}
    if "port" in custom:
        changes["port"] = int(custom["port"])
    if "protocol" in custom:
        changes["protocol"] = str(custom["protocol"])
    if "customHeaders" in args:
        changes["custom_headers"] = tuple(
            (str(k), str(v)) for k, v in args["customHeaders"].items()
        )
    return dataclasses.replace(origin, **changes)
