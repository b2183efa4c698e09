"""Route files: load + validate + desired state, cold and after small edits (issue 18).

    python benchmarks/bench_routes.py                 # 1k, 10k, 100k tenants + a ~5 MB store
    python benchmarks/bench_routes.py --sizes 1000    # any sizes
    python benchmarks/bench_routes.py --repeat 3      # median of 3 runs per row

For each size a repository is generated (tenants in one JSONL bulk file, a KeyValueStore
of ~23k entries / 4.9 MB in one 5.1 MB YAML file, a policy, a CloudFront Function) and
every scenario runs in a fresh subprocess, the way the engine runs passes: one
RouteSetLoader for the process, `load()` then `desired_state()` per pass, nothing of a
pass kept after it but what the loader and desired.py keep themselves.

    fresh       load_route_set() + desired_state(), nothing kept: what every pass cost
                before RouteSetLoader (runs on older checkouts too, for a comparison)
    cold        the first pass of a process with a RouteSetLoader
    unchanged   a second pass, no file changed
    jsonl edit  a second pass after one tenant's backend changed in the bulk file
    jsonl add   a second pass after one tenant was added as the bulk file's first line
    store edit  a second pass after one entry changed in the store's YAML file

Times are of the measured pass only (CPU: this process's user + system time, which the
neighbours on a shared machine move less than wall time). Peak RSS is the process's
VmHWM (interpreter, imports, the cold pass and the measured one); RSS after is VmRSS
once the measured pass's own values are dropped: what stays between passes.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

STORE_TARGET_BYTES = 4_900_000  # under the 5 MB store limit (keys + values)
BACKENDS = ["basic-api.example.com", "standard-api.example.com", "premium-api.example.com"]
SCENARIOS = ["fresh", "cold", "unchanged", "jsonl edit", "jsonl add", "store edit"]

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


def edit(root: Path, scenario: str) -> None:
    """The change a scenario's second pass sees, written as an editor would."""
    routes = root / "routes"
    if scenario in ("jsonl edit", "jsonl add"):
        path = routes / "tenants" / "bulk.jsonl"
        lines = path.read_bytes().split(b"\n")
        if scenario == "jsonl edit":
            middle = len(lines) // 2
            item = json.loads(lines[middle])
            item["defaultBackend"] = "moved-api.example.com"
            lines[middle] = json.dumps(item).encode()
        else:
            new = {"tenantId": "added", "accountId": "1", "defaultBackend": BACKENDS[0]}
            lines.insert(0, json.dumps(new).encode())
        path.write_bytes(b"\n".join(lines))
    elif scenario == "store edit":
        path = routes / "store.yaml"
        lines = path.read_text().split("\n")
        middle = len(lines) // 2
        key = lines[middle].split(":")[0]
        lines[middle] = f"{key}: moved-origin.example.com"
        path.write_text("\n".join(lines))


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_one(root: Path, scenario: str) -> dict[str, Any]:
    started = time.perf_counter()
    import reconciler.routes
    from reconciler.engine.desired import desired_state  # imports are part of a cold start

    imported = time.perf_counter()
    if scenario == "fresh":
        load = partial(reconciler.routes.load_route_set, root / "routes", root)
    else:
        load = reconciler.routes.RouteSetLoader(root / "routes", root).load

    def one_pass() -> dict[str, Any]:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        route_set = load()
        wall1, cpu1 = time.perf_counter(), time.process_time()
        desired = desired_state(route_set)
        wall2, cpu2 = time.perf_counter(), time.process_time()
        summary = route_set.summary()
        assert desired.container_digests
        return {
            "load_cpu": cpu1 - cpu0,
            "load_wall": wall1 - wall0,
            "desired_cpu": cpu2 - cpu1,
            "desired_wall": wall2 - wall1,
            "items": summary["items"],
            "entries": summary["entries"],
        }

    result = one_pass()
    if scenario not in ("fresh", "cold"):
        gc.collect()  # the engine drops a pass's values before the next one
        # Edited by another process (as an editor would), so that the editing does not
        # count into this one's peak RSS.
        subprocess.run(
            [sys.executable, __file__, "--edit", str(root), "--scenario", scenario], check=True
        )
        result = one_pass()
    gc.collect()
    result.update(
        import_s=imported - started, peak_rss_mb=_status("VmHWM"), rss_after_mb=_status("VmRSS")
    )
    return result


def run(root: Path, scenario: str, repeat: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "repo"
            subprocess.run(["cp", "-a", str(root), str(copy)], check=True)
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(copy), "--scenario", scenario],
                check=True,
                capture_output=True,
                text=True,
                cwd=Path(__file__).resolve().parents[1],
            ).stdout
            runs.append(json.loads(out))
    numbers = [k for k, v in runs[0].items() if isinstance(v, float)]
    merged = dict(runs[0])
    merged.update({k: statistics.median(r[k] for r in runs) for k in numbers})
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--scenarios", nargs="*", default=SCENARIOS, choices=SCENARIOS)
    parser.add_argument("--repeat", type=int, default=1, help="runs per row (median shown)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--edit", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", default="cold", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.scenario)))
        return
    if args.edit:
        edit(args.edit, args.scenario)
        return
    print(
        f"{'tenants':>8} {'entries':>7}  {'scenario':<11} {'load cpu':>9} {'wall':>7} "
        f"{'desired cpu':>11} {'wall':>7} {'both cpu':>9} {'peak RSS':>9} {'RSS after':>9}"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "repo"
            generate(root, size)
            for scenario in args.scenarios:
                r = run(root, scenario, args.repeat)
                both = r["load_cpu"] + r["desired_cpu"]
                print(
                    f"{r['items']:>8} {r['entries']:>7}  {scenario:<11} "
                    f"{r['load_cpu']:>8.3f}s {r['load_wall']:>6.3f}s "
                    f"{r['desired_cpu']:>10.3f}s {r['desired_wall']:>6.3f}s "
                    f"{both:>8.3f}s {r['peak_rss_mb']:>7.0f}MB {r['rss_after_mb']:>7.0f}MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
