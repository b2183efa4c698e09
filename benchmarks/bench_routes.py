"""Load + validate time and peak memory of large route sets.

    python benchmarks/bench_routes.py                 # 1k, 10k, 100k tenants + a ~5 MB store
    python benchmarks/bench_routes.py --sizes 1000    # any sizes

Each size is generated into a temporary repository and measured in a fresh subprocess,
so that peak RSS (ru_maxrss) belongs to that size alone and includes the interpreter and
imports (the figure the daemon's container limit has to cover).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORE_TARGET_BYTES = 4_900_000  # under the 5 MB store limit (keys + values)
BACKENDS = ["basic-api.example.com", "standard-api.example.com", "premium-api.example.com"]

POLICY = """apiVersion: edge.routing/v1
kind: ReconcilerPolicy
metadata: {name: policy}
spec:
  allowedOriginPatterns: ["*.example.com"]
"""
TABLE = """apiVersion: edge.routing/v1
kind: RoutingTable
metadata: {name: tenant-routing-config-bench}
spec:
  prune: true
  itemsFrom: [tenants/*.jsonl]
"""
FUNCTION = """apiVersion: edge.routing/v1
kind: CloudFrontFunction
metadata: {name: tier-router}
spec: {source: edge_functions/tier_router/index.js, keyValueStore: big-store}
"""


def generate(root: Path, tenants: int) -> None:
    routes = root / "routes"
    (routes / "tenants").mkdir(parents=True)
    (root / "edge_functions" / "tier_router").mkdir(parents=True)
    (root / "edge_functions" / "tier_router" / "index.js").write_text(
        "function handler(e) { return e.request; }\n"
    )
    (routes / "policy.yaml").write_text(POLICY)
    (routes / "table.yaml").write_text(TABLE)
    (routes / "function.yaml").write_text(FUNCTION)
    with (routes / "tenants" / "bulk.jsonl").open("w") as out:
        for n in range(tenants):
            backend = f"tenant-{n}.example.com" if n % 10 == 0 else BACKENDS[n % 3]
            out.write(
                json.dumps(
                    {
                        "tenantId": f"tenant-{n // 3}",
                        "accountId": str(1000 + n % 3),
                        "defaultBackend": backend,
                        "tier": ["basic", "standard", "premium"][n % 3],
                        "weight": n % 100,
                    }
                )
                + "\n"
            )
    value_head = "o" * 60 + "." + "p" * 60 + "." + "q" * 60 + "."  # origins stay <= 253 chars
    lines, size, n = (
        [
            "apiVersion: edge.routing/v1",
            "kind: KeyValueStore",
            "metadata: {name: big-store}",
            "spec:",
            "  prune: true",
            "  entries:",
        ],
        0,
        0,
    )
    while size < STORE_TARGET_BYTES:
        key, value = f"key-{n:06d}", f"{value_head}s{n}.example.com"
        lines.append(f"    {key}: {value}")
        size += len(key) + len(value)
        n += 1
    (routes / "store.yaml").write_text("\n".join(lines) + "\n")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_one(root: Path) -> dict[str, float]:
    started = time.perf_counter()
    from reconciler.routes import load_route_set  # imports are part of a cold start

    imported = time.perf_counter()
    cpu_before = _cpu_seconds()
    route_set = load_route_set(root / "routes", root)
    done = time.perf_counter()
    cpu = _cpu_seconds() - cpu_before
    summary = route_set.summary()
    return {
        "import_s": imported - started,
        "load_s": done - imported,
        # CPU time too: wall time on a shared 2-core machine swings with the neighbours.
        "cpu_s": cpu,
        "items": summary["items"],
        "entries": summary["entries"],
        "store_yaml_bytes": (root / "routes" / "store.yaml").stat().st_size,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one)))
        return
    print(
        f"{'tenants':>8} {'items':>8} {'store entries':>13} {'load+validate':>14} {'cpu':>7} {'imports':>8} {'peak RSS':>9}"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), size)
            out = subprocess.run(
                [sys.executable, __file__, "--one", tmp],
                check=True,
                capture_output=True,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            ).stdout
            r = json.loads(out)
            print(
                f"{size:>8} {r['items']:>8} {r['entries']:>13} {r['load_s']:>13.2f}s {r['cpu_s']:>6.2f}s "
                f"{r['import_s']:>7.2f}s {r['max_rss_mb']:>7.0f}MB"
            )


if __name__ == "__main__":
    main()
