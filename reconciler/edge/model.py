"""The values a request passes through on its way from the viewer to an origin."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ViewerRequest:
    """What the viewer sent, as the edge received it (path and query still URL-encoded)."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True)
class OriginTarget:
    """Where the request goes: a custom origin, as CloudFront models it after the functions ran.

    `origin_id` is the distribution's origin this started from ("" once Lambda@Edge has
    replaced the whole origin object, which no longer names a configured origin).
    """

    origin_id: str
    domain_name: str
    path: str = ""
    protocol: str = "https"
    port: int = 443
    read_timeout: int = 30
    keepalive_timeout: int = 5
    connection_timeout: int = 10
    ssl_protocols: tuple[str, ...] = ("TLSv1.2",)
    custom_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ForwardRequest:
    """The request as it will be sent to the origin (after the functions changed it).

    `host` is None when CloudFront picks the Host header itself (the origin's domain name).
    """

    method: str
    uri: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    host: str | None = None


@dataclass(frozen=True)
class EdgeResponse:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # Set when the edge itself (not the origin) produced the response.
    generated_by: str | None = None
