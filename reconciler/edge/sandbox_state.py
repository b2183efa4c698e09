"""What the edge knows about the distribution and its functions, read from the emulated AWS.

Everything goes over the wire like any client's reads: GetDistribution,
DescribeFunction/GetFunction at LIVE, the KVS data plane's ListKeys, Lambda GetFunction
for a version and then its package from GetFunction's Code.Location (a presigned URL the
sandbox serves, as S3 does on AWS), checked against the CodeSha256 GetFunction reported.
So the edge works against a sandbox in another process too.

Reads are cached for `ttl` seconds, standing in for CloudFront's propagation delay and
keeping the per-request overhead small; ttl=0 reads everything on every request.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from reconciler.aws.clients import KVS_SERVICE, AwsTarget, make_client
from reconciler.edge.model import OriginTarget
from reconciler.emulator import DISTRIBUTION_COMMENT

T = TypeVar("T")
EDGE_REGION = "us-east-1"
ORIGIN_ATTRIBUTES = ("defaultBackend",)


class EdgeStateError(RuntimeError):
    """The emulated AWS does not hold what the edge needs (no distribution, no package)."""


@dataclass(frozen=True)
class DistributionView:
    id: str
    domain_name: str
    etag: str
    config: dict[str, Any]

    def origins(self) -> dict[str, OriginTarget]:
        return {o["Id"]: origin_target(o) for o in self.config["Origins"].get("Items") or []}


@dataclass(frozen=True)
class ViewerFunction:
    name: str
    etag: str
    code: str
    kvs_arn: str | None


@dataclass(frozen=True)
class LambdaVersion:
    arn: str
    code_sha256: str
    handler: str
    timeout_s: int
    zip_bytes: bytes


def origin_target(origin: dict[str, Any]) -> OriginTarget:
    custom = origin.get("CustomOriginConfig") or {}
    protocol = "http" if custom.get("OriginProtocolPolicy") == "http-only" else "https"
    port = int(custom.get("HTTPPort", 80) if protocol == "http" else custom.get("HTTPSPort", 443))
    headers = tuple(
        (h["HeaderName"], h["HeaderValue"])
        for h in (origin.get("CustomHeaders") or {}).get("Items") or []
    )
    return OriginTarget(
        origin_id=origin["Id"],
        domain_name=origin["DomainName"],
        path=origin.get("OriginPath") or "",
        protocol=protocol,
        port=port,
        read_timeout=int(custom.get("OriginReadTimeout", 30)),
        keepalive_timeout=int(custom.get("OriginKeepaliveTimeout", 5)),
        ssl_protocols=tuple((custom.get("OriginSslProtocols") or {}).get("Items") or ["TLSv1.2"]),
        custom_headers=headers,
    )


class _TtlCache:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            value: T = hit[1]
            return value
        value = load()
        with self._lock:
            self._values[key] = (now, value)
        return value


class SandboxState:
    """Reads the distribution (by comment or id) and what its behaviours reference."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        distribution_comment: str = DISTRIBUTION_COMMENT,
        distribution_id: str | None = None,
        ttl: float = 0.5,
    ) -> None:
        self.endpoint_url = endpoint_url
        target = AwsTarget(endpoint_url=endpoint_url, max_attempts=2)
        self._cloudfront = make_client("cloudfront", target)
        self._kvs = make_client(KVS_SERVICE, target)
        self._lambda = make_client("lambda", target, EDGE_REGION)
        self._dynamodb = make_client("dynamodb", target)
        self._comment = distribution_comment
        self._distribution_id = distribution_id
        self._cache = _TtlCache(ttl)
        # Function code by (name, ETag) and packages by (ARN, sha): immutable, kept forever.
        self._code: dict[tuple[str, str], str] = {}
        self._packages: dict[tuple[str, str], LambdaVersion] = {}

    # -- the distribution ----------------------------------------------------------------

    def distribution(self) -> DistributionView:
        return self._cache.get("distribution", self._read_distribution)

    def _read_distribution(self) -> DistributionView:
        if self._distribution_id is None:
            self._distribution_id = _find_distribution_id(self._cloudfront, self._comment)
            if self._distribution_id is None:
                raise EdgeStateError(
                    f"no distribution with comment {self._comment!r} in {self.endpoint_url}"
                )
        # GetDistribution rather than GetDistributionConfig: the same config and ETag plus
        # the DomainName the functions see as distributionDomainName, in one call.
        reply = self._cloudfront.get_distribution(Id=self._distribution_id)
        dist = reply["Distribution"]
        return DistributionView(
            id=dist["Id"],
            domain_name=dist["DomainName"],
            etag=reply["ETag"],
            config=dict(dist["DistributionConfig"]),
        )

    # -- CloudFront Functions -------------------------------------------------------------

    def viewer_function(self, function_arn: str) -> ViewerFunction:
        return self._cache.get(
            ("function", function_arn), lambda: self._read_function(function_arn)
        )

    def _read_function(self, function_arn: str) -> ViewerFunction:
        name = function_arn.rsplit("/", 1)[-1]
        described = self._cloudfront.describe_function(Name=name, Stage="LIVE")
        etag = described["ETag"]
        code = self._code.get((name, etag))
        if code is None:
            raw: Any = self._cloudfront.get_function(Name=name, Stage="LIVE")["FunctionCode"]
            code = raw.read().decode("utf-8") if hasattr(raw, "read") else bytes(raw).decode()
            self._code[(name, etag)] = code
        stores: Mapping[str, Any] = (
            described["FunctionSummary"]["FunctionConfig"].get("KeyValueStoreAssociations") or {}
        )
        arns = [s["KeyValueStoreARN"] for s in stores.get("Items") or []]
        return ViewerFunction(name, etag, code, arns[0] if arns else None)

    def kvs_entries(self, kvs_arn: str) -> dict[str, str]:
        return self._cache.get(("kvs", kvs_arn), lambda: dict(self._list_keys(kvs_arn)))

    def _list_keys(self, kvs_arn: str) -> Iterator[tuple[str, str]]:
        for page in self._kvs.get_paginator("list_keys").paginate(KvsARN=kvs_arn):
            for item in page.get("Items") or []:
                yield item["Key"], item["Value"]

    # -- Lambda@Edge ----------------------------------------------------------------------

    def lambda_version(self, version_arn: str) -> LambdaVersion:
        return self._cache.get(("lambda", version_arn), lambda: self._read_lambda(version_arn))

    def _read_lambda(self, version_arn: str) -> LambdaVersion:
        reply = self._lambda.get_function(FunctionName=version_arn)
        config = reply["Configuration"]
        sha = config["CodeSha256"]
        cached = self._packages.get((version_arn, sha))
        if cached is not None:
            return cached
        zip_bytes = _download((reply.get("Code") or {}).get("Location"), version_arn)
        actual = base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
        if actual != sha:
            raise EdgeStateError(
                f"the package of {version_arn} downloaded from Code.Location does not match "
                f"the CodeSha256 GetFunction reports ({actual} != {sha})"
            )
        version = LambdaVersion(
            version_arn, sha, config["Handler"], int(config["Timeout"]), zip_bytes
        )
        self._packages[(version_arn, sha)] = version
        return version

    # -- every origin domain the state mentions --------------------------------------------

    def origin_domains(self) -> set[str]:
        """Distribution origins, values of every KVS, and table backend attributes."""
        return self._cache.get("domains", self._read_origin_domains)

    def _read_origin_domains(self) -> set[str]:
        domains = {o.domain_name for o in self.distribution().origins().values()}
        listed = self._cloudfront.list_key_value_stores().get("KeyValueStoreList") or {}
        for store in listed.get("Items") or []:
            domains.update(v for _, v in self._list_keys(store["ARN"]))
        for page in self._dynamodb.get_paginator("list_tables").paginate():
            for table in page.get("TableNames") or []:
                for scanned in self._dynamodb.get_paginator("scan").paginate(TableName=table):
                    for item in scanned.get("Items") or []:
                        for attribute in ORIGIN_ATTRIBUTES:
                            value = item.get(attribute, {}).get("S")
                            if value:
                                domains.add(value)
        return {d.lower() for d in domains if _looks_like_domain(d)}


def _looks_like_domain(value: str) -> bool:
    return "." in value and " " not in value and "/" not in value and ":" not in value


def _download(location: str | None, version_arn: str) -> bytes:
    if not location or not location.startswith(("http://", "https://")):
        raise EdgeStateError(f"GetFunction of {version_arn} gave no package URL: {location!r}")
    try:
        with urllib.request.urlopen(location, timeout=30) as reply:  # the scheme is checked above
            return bytes(reply.read())
    except OSError as exc:
        raise EdgeStateError(f"cannot download the package of {version_arn}: {exc}") from exc


def _find_distribution_id(cloudfront: Any, comment: str) -> str | None:
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for summary in page.get("DistributionList", {}).get("Items", []) or []:
            if summary.get("Comment") == comment:
                return str(summary["Id"])
    return None
