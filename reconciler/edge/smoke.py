"""The seed's cURL tests as checks: which backend answers each request through the edge.

Expectations come from the route files, not from AWS, so a check says "the edge does what
the repository declares": tiers from the KeyValueStore documents (basic stays on the
distribution's default origin, as tier-router does no lookup for it), tenants from the
RoutingTable items, and an unknown tenant from the default origin. A tenant request must
also arrive with the Host header of the backend it reached (the function sets it for a
known tenant; CloudFront sends the origin's domain otherwise): a backend that answers
under another name would not serve the tenant.

Tier requests use GET: the seeded distribution's default behaviour allows GET/HEAD only,
and CloudFront answers a POST there with 403 (the walkthrough's console distribution
allowed POST; see docs/local-edge.md).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.core.state import DesiredData

TIERS = ("basic", "standard", "premium")
DEFAULT_TIER = "basic"
UNKNOWN_TENANT = {"tenantId": "smoke-unknown-tenant", "accountId": "0000"}
TENANT_PATH = "/tenant/orders"
MAX_TENANT_CHECKS = 4


@dataclass(frozen=True)
class SmokeCheck:
    name: str
    method: str
    path: str
    body: bytes | None
    expected_backend: str
    expected_host: str | None = None  # the Host header the backend must have received


@dataclass(frozen=True)
class CheckResult:
    check: SmokeCheck
    status: int | None
    backend: str | None
    elapsed_ms: float
    error: str | None = None
    host: str | None = None  # the Host header the backend received

    @property
    def ok(self) -> bool:
        host_ok = self.check.expected_host is None or self.host == self.check.expected_host
        return self.status == 200 and self.backend == self.check.expected_backend and host_ok

    def line(self) -> str:
        verdict = "ok  " if self.ok else "FAIL"
        got = self.error or f"{self.status} from {self.backend}"
        expected = self.check.expected_backend
        if self.check.expected_host is not None:
            got += f" Host {self.host}" if self.error is None else ""
            expected += f" Host {self.check.expected_host}"
        return (
            f"{verdict} {self.check.name}: {self.check.method} {self.check.path} -> {got} "
            f"(expected {expected}, {self.elapsed_ms:.0f} ms)"
        )


def tier_checks(store_entries: Mapping[str, str], default_origin: str) -> list[SmokeCheck]:
    checks: list[SmokeCheck] = []
    for tier in TIERS:
        if tier not in store_entries:
            continue
        expected = default_origin if tier == DEFAULT_TIER else store_entries[tier].lower()
        checks.append(SmokeCheck(f"tier {tier}", "GET", f"/pets?CTIER={tier}", None, expected))
    return checks


def tenant_checks(items: Iterable[Mapping[str, str]], default_origin: str) -> list[SmokeCheck]:
    """A few tenants with different backends, then one the table does not know."""
    checks: list[SmokeCheck] = []
    seen: set[str] = set()
    for item in items:
        backend = item["defaultBackend"].lower()
        if backend in seen or len(checks) >= MAX_TENANT_CHECKS:
            continue
        seen.add(backend)
        body = {"tenantId": item["tenantId"], "accountId": item["accountId"]}
        name = f"tenant {item['tenantId']}/{item['accountId']}"
        checks.append(
            SmokeCheck(name, "POST", TENANT_PATH, json.dumps(body).encode(), backend, backend)
        )
    checks.append(
        SmokeCheck(
            "unknown tenant",
            "POST",
            TENANT_PATH,
            json.dumps(UNKNOWN_TENANT).encode(),
            default_origin,
            default_origin,
        )
    )
    return checks


def seed_checks(data: DesiredData, default_origin: str) -> list[SmokeCheck]:
    """The walkthrough's tests for the declared tier store(s) and routing table(s)."""
    checks: list[SmokeCheck] = []
    for store in data.stores:
        checks.extend(tier_checks(store.entries, default_origin))
    for table in data.tables:
        items = [
            {name: value["S"] for name, value in item.items() if "S" in value}
            for _, item in sorted(table.items.items())
        ]
        usable = [i for i in items if {"tenantId", "accountId", "defaultBackend"} <= i.keys()]
        checks.extend(tenant_checks(usable, default_origin))
    return checks


def run_check(edge_url: str, check: SmokeCheck, timeout: float = 30.0) -> CheckResult:
    request = urllib.request.Request(
        edge_url.rstrip("/") + check.path,
        data=check.body,
        method=check.method,
        headers={"Content-Type": "application/json"} if check.body is not None else {},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return CheckResult(check, None, None, elapsed, f"no answer: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    try:
        answer = json.loads(raw)
        backend, host = answer.get("backend"), answer.get("host")
    except (ValueError, AttributeError):
        return CheckResult(check, status, None, elapsed, f"{status}, not an origin's answer")
    return CheckResult(check, status, backend, elapsed, host=host)


def run_checks(edge_url: str, checks: Iterable[SmokeCheck]) -> list[CheckResult]:
    return [run_check(edge_url, c) for c in checks]
