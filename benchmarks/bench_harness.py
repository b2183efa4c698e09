"""Per-test cost of the offline edge-function harness (printed, never asserted).

    . .venv/bin/activate && python benchmarks/bench_harness.py [--rounds 50]

Measures, for tier-router's own test events: the Node process start, the static check,
and one run (a fresh vm context + the handler) as the Python caller sees it (round trip
over the pipe) and as Node measures the handler alone. Then one Lambda@Edge invocation
(a Node subprocess per event) for comparison, against a closed port so no emulator is
needed (the function falls back after a refused connection). Then the compute figure of
the first run in fresh runners (what the sandbox's TestFunction reports: one run), and
the EdgeFunctionTester's whole tenant-router suite, first (the moto server starts) and
second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from reconciler.functions import (
    CloudFrontFunctionRunner,
    EdgeFunctionTester,
    build_package,
    run_lambda_edge,
)
from reconciler.functions.test_events import closed_port_url, default_lambda_config, load_cases

ROOT = Path(__file__).resolve().parents[1] / "edge_functions"


def summary(label: str, samples_ms: list[float]) -> None:
    samples = sorted(samples_ms)
    p95 = samples[int(len(samples) * 0.95) - 1] if len(samples) >= 20 else samples[-1]
    print(
        f"{label:<42} n={len(samples):<5} median {statistics.median(samples):7.3f} ms"
        f"  p95 {p95:7.3f} ms  max {samples[-1]:8.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--lambda-runs", type=int, default=5)
    parser.add_argument("--fresh-runners", type=int, default=16)
    args = parser.parse_args()

    code = (ROOT / "tier_router" / "index.js").read_text()
    cases = load_cases(ROOT / "tier_router")
    started = time.perf_counter()
    with CloudFrontFunctionRunner() as runner:
        runner.check(code)  # first request: waits for Node to be ready
        print(f"{'node start + first check':<42} {(time.perf_counter() - started) * 1000:.1f} ms")
        checks = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            runner.check(code)
            checks.append((time.perf_counter() - t) * 1000)
        round_trip, handler = [], []
        for _ in range(args.rounds):
            for case in cases:
                t = time.perf_counter()
                result = runner.run(code, case.event, case.kvs, kvs_fault=case.kvs_fault)
                round_trip.append((time.perf_counter() - t) * 1000)
                handler.append(result.duration_ms)
    summary("static check (acorn), round trip", checks)
    summary("CloudFront Function test, round trip", round_trip)
    summary("CloudFront Function test, handler only", handler)

    folder = ROOT / "tenant_router"
    event = load_cases(folder)[0].event
    config = {**default_lambda_config(folder), "timeoutMs": 200}
    runs = []
    for _ in range(args.lambda_runs):
        t = time.perf_counter()
        run_lambda_edge(folder, event, config, closed_port_url())
        runs.append((time.perf_counter() - t) * 1000)
    summary("Lambda@Edge test (subprocess + package)", runs)

    firsts = []
    for _ in range(args.fresh_runners):
        with CloudFrontFunctionRunner() as fresh:
            firsts.append(fresh.run(code, cases[0].event, cases[0].kvs).compute_utilization or 0)
    firsts.sort()
    print(
        f"{'first-run compute figure, fresh runners':<42} n={len(firsts):<5} min {firsts[0]}"
        f"  median {statistics.median(firsts):.0f}  max {firsts[-1]}  (1-100, 1 ms budget)"
    )

    config = default_lambda_config(folder)
    package = build_package(folder, config)
    with EdgeFunctionTester() as tester:
        for label in ("tester: tenant-router suite, first", "tester: tenant-router suite, again"):
            t = time.perf_counter()
            suite = tester.test_lambda(folder, package, config)
            elapsed = (time.perf_counter() - t) * 1000
            print(f"{label:<42} {elapsed:.0f} ms, {len(suite.outcomes)} cases, passed={suite.passed}")


if __name__ == "__main__":
    main()
