"""The Lambda@Edge side of a request: the `Records[0].cf` event in, the request out.

Headers are `{lowercase: [{key, value}]}`, the query string is one raw string, the body
(only with IncludeBody) is base64 of at most 40 KB at viewer events and 1 MB at origin
events, with `inputTruncated` when it was cut, as CloudFront does. `request.origin`
exists only at origin-request, filled from the (possibly function-changed) origin.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.edge.model import EdgeResponse, ForwardRequest, OriginTarget

BODY_LIMITS = {"viewer-request": 40 * 1024, "origin-request": 1024 * 1024}


class LambdaResultInvalid(ValueError):
    """CloudFront's LambdaValidationError: the returned object is not a valid request/response."""


def _grouped_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower(), []).append({"key": name, "value": value})
    return grouped


def origin_object(origin: OriginTarget) -> dict[str, Any]:
    return {
        "custom": {
            "customHeaders": _grouped_headers(origin.custom_headers),
            "domainName": origin.domain_name,
            "keepaliveTimeout": origin.keepalive_timeout,
            "path": origin.path,
            "port": origin.port,
            "protocol": origin.protocol,
            "readTimeout": origin.read_timeout,
            "sslProtocols": list(origin.ssl_protocols),
        }
    }


def request_event(
    request: ForwardRequest,
    origin: OriginTarget,
    *,
    event_type: str,
    include_body: bool,
    client_ip: str,
    distribution_id: str,
    distribution_domain: str,
    request_id: str,
) -> dict[str, Any]:
    headers = list(request.headers)
    if event_type == "origin-request":
        # By now CloudFront has chosen the Host it sends: the origin's domain name
        # (AllViewerExceptHostHeader) unless a function set one.
        host = request.host or origin.domain_name
        headers = [("Host", host), *((k, v) for k, v in headers if k.lower() != "host")]
    cf_request: dict[str, Any] = {
        "clientIp": client_ip,
        "headers": _grouped_headers(headers),
        "method": request.method,
        "querystring": request.query,
        "uri": request.uri,
    }
    if event_type == "origin-request":
        cf_request["origin"] = origin_object(origin)
    if include_body:
        limit = BODY_LIMITS[event_type]
        cf_request["body"] = {
            "inputTruncated": len(request.body) > limit,
            "action": "read-only",
            "encoding": "base64",
            "data": base64.b64encode(request.body[:limit]).decode("ascii"),
        }
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": distribution_domain,
                        "distributionId": distribution_id,
                        "eventType": event_type,
                        "requestId": request_id,
                    },
                    "request": cf_request,
                }
            }
        ]
    }


def is_response(output: Mapping[str, Any]) -> bool:
    return "status" in output and "uri" not in output


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, Mapping):
        raise LambdaResultInvalid("headers must be an object")
    pairs = []
    for name, entries in headers.items():
        if not isinstance(entries, list):
            raise LambdaResultInvalid(f"headers.{name} must be a list of {{key, value}}")
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), str):
                raise LambdaResultInvalid(f"headers.{name} entries need a string value")
            key = entry.get("key") or name
            if str(key).lower() != name:
                raise LambdaResultInvalid(f"header key {key!r} does not match its name {name!r}")
            pairs.append((str(key), entry["value"]))
    return pairs


def forward_from_lambda(
    output: Any, before: ForwardRequest, origin: OriginTarget, event_type: str
) -> tuple[ForwardRequest, OriginTarget]:
    if not isinstance(output, Mapping) or not isinstance(output.get("uri"), str):
        raise LambdaResultInvalid("the function must return the request or a response")
    pairs = _header_pairs(output.get("headers", {}))
    host = next((v for k, v in pairs if k.lower() == "host"), None)
    body = before.body
    returned_body = output.get("body")
    if isinstance(returned_body, Mapping) and returned_body.get("action") == "replace":
        data = str(returned_body.get("data", ""))
        body = (
            base64.b64decode(data) if returned_body.get("encoding") == "base64" else data.encode()
        )
    changed_origin = origin
    if event_type == "origin-request" and "origin" in output:
        changed_origin = _origin_from_object(output["origin"])
    # At origin-request the event carried Host = the origin's domain, so only a different
    # value is the function's choice; at viewer-request Host is still the viewer's.
    chosen_host = before.host
    if event_type == "origin-request" and host is not None and host != origin.domain_name:
        chosen_host = host
    forward = ForwardRequest(
        method=before.method,
        uri=output["uri"],
        query=str(output.get("querystring", "")),
        headers=tuple((k, v) for k, v in pairs if k.lower() != "host"),
        body=body,
        host=chosen_host,
    )
    return forward, changed_origin


def _origin_from_object(raw: Any) -> OriginTarget:
    custom = raw.get("custom") if isinstance(raw, Mapping) else None
    if not isinstance(custom, Mapping):
        # An s3 origin object is valid at the edge, but no local backend models S3.
        raise LambdaResultInvalid("request.origin must hold a complete `custom` origin")
    missing = [
        field
        for field in (
            "domainName",
            "port",
            "protocol",
            "path",
            "sslProtocols",
            "readTimeout",
            "keepaliveTimeout",
            "customHeaders",
        )
        if field not in custom
    ]
    if missing:
        raise LambdaResultInvalid(f"request.origin.custom is missing {', '.join(missing)}")
    return OriginTarget(
        origin_id="",
        domain_name=str(custom["domainName"]),
        path=str(custom["path"]),
        protocol=str(custom["protocol"]),
        port=int(custom["port"]),
        read_timeout=int(custom["readTimeout"]),
        keepalive_timeout=int(custom["keepaliveTimeout"]),
        ssl_protocols=tuple(custom["sslProtocols"]),
        custom_headers=tuple(_header_pairs(custom["customHeaders"])),
    )


def response_from_lambda(output: Mapping[str, Any]) -> EdgeResponse:
    try:
        status = int(output["status"])
    except (TypeError, ValueError) as exc:
        raise LambdaResultInvalid(f"status must be an HTTP status code: {exc}") from exc
    body = str(output.get("body", ""))
    raw = base64.b64decode(body) if output.get("bodyEncoding") == "base64" else body.encode()
    return EdgeResponse(
        status=status,
        reason=str(output.get("statusDescription", "")),
        headers=tuple(_header_pairs(output.get("headers", {}))),
        body=raw,
        generated_by="Lambda@Edge",
    )
