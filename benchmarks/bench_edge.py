"""Local edge benchmark: per-request overhead of the edge over calling the origin directly.

    python benchmarks/bench_edge.py [--requests 50] [--ttl 0.5] [--json]

Starts the emulated AWS in this process, seeds it, reconciles routes/ (one real pass),
starts the local edge, then for each route sends `--requests` sequential requests through
the edge and the same requests straight to the origin's local backend, and prints p50/p95
of both and the difference (the edge's overhead: behaviour selection, state reads from
the emulated AWS, the functions in Node, the proxy hop). `--ttl` is how long the edge
reuses a read of the emulated AWS (0 = every request reads the distribution, function,
store / package).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reconciler.cli.sandbox_mode import start_seeded_sandbox  # noqa: E402
from reconciler.edge.local_stack import start_local_stack  # noqa: E402
from reconciler.edge.server import start_local_edge  # noqa: E402
from reconciler.logs import configure_logging  # noqa: E402


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    body: bytes | None
    origin: str  # the backend the request reaches, for the direct baseline


ROUTES = (
    Route(
        "tier basic (CloudFront Function, no lookup)",
        "/pets?CTIER=basic",
        None,
        "basic-api.example.com",
    ),
    Route(
        "tier premium (CloudFront Function + KVS)",
        "/pets?CTIER=premium",
        None,
        "premium-api.example.com",
    ),
    Route(
        "tenant acme/1001 (Lambda@Edge + DynamoDB)",
        "/tenant/orders",
        b'{"tenantId": "acme", "accountId": "1001"}',
        "acme-backend.example.com",
    ),
    Route(
        "unknown tenant (Lambda@Edge, fallback)",
        "/tenant/orders",
        b'{"tenantId": "nobody", "accountId": "0"}',
        "basic-api.example.com",
    ),
)


def timed(url: str, body: bytes | None) -> float:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()
        assert reply.status == 200, reply.status
    return (time.perf_counter() - started) * 1000.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--ttl", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    configure_logging(fmt="console", level="warning")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "routes", root / "routes")
        shutil.copytree(REPO / "edge_functions", root / "edge_functions", symlinks=True)
        stack = start_local_stack(root / "routes", root, start_seeded_sandbox())
        try:
            assert stack.converged, stack.passes[-1]
            stack.edge.stop()  # replaced by one with the requested ttl
            edge = start_local_edge(stack.sandbox.endpoint_url, 0, state_ttl=args.ttl)
            results = []
            for route in ROUTES:
                backend = edge.backends.address(route.origin)
                if backend is None:  # discovered on first use, like any reconciled domain
                    timed(edge.url + route.path, route.body)
                    backend = edge.backends.address(route.origin)
                assert backend is not None
                timed(edge.url + route.path, route.body)  # warm: first reads, staging
                through = [timed(edge.url + route.path, route.body) for _ in range(args.requests)]
                direct = [timed(backend.url + route.path, route.body) for _ in range(args.requests)]
                results.append(
                    {
                        "route": route.name,
                        "edge_p50_ms": round(statistics.median(through), 2),
                        "edge_p95_ms": round(percentile(through, 0.95), 2),
                        "direct_p50_ms": round(statistics.median(direct), 2),
                        "direct_p95_ms": round(percentile(direct, 0.95), 2),
                        "overhead_p50_ms": round(
                            statistics.median(through) - statistics.median(direct), 2
                        ),
                    }
                )
            edge.stop()
        finally:
            stack.sandbox.stop()

    if args.json:
        print(json.dumps({"requests": args.requests, "ttl": args.ttl, "routes": results}, indent=2))
        return
    print(f"{args.requests} sequential requests per route, state ttl {args.ttl} s")
    print(
        f"{'route':46} {'edge p50':>9} {'edge p95':>9} {'direct p50':>11} {'direct p95':>11} {'overhead p50':>13}"
    )
    for r in results:
        print(
            f"{r['route']:46} {r['edge_p50_ms']:>9} {r['edge_p95_ms']:>9} {r['direct_p50_ms']:>11} "
            f"{r['direct_p95_ms']:>11} {r['overhead_p50_ms']:>13}"
        )


if __name__ == "__main__":
    main()
