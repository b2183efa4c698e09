"""Daemon benchmark: edit -> visible in (emulated) AWS latency, and idle cost.

    python benchmarks/bench_daemon.py [--edits 20] [--duration 60]

Starts `reconciler run --sandbox` as a subprocess on a temporary copy of routes/ and
edge_functions/, then:
1. edits one KeyValueStore entry in tiers.yaml `--edits` times, each time measuring from
   the write to the moment the new value is readable through the KVS data plane API;
2. leaves the daemon alone for `--duration` seconds and reports its CPU share and RSS
   (from /proc; the embedded emulated AWS runs in the same process and is included).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reconciler.aws.clients import AwsTarget, make_client  # noqa: E402
from tests.support.daemon import DaemonProcess, repo_environment  # noqa: E402

STORE, KEY = "tier-origins", "premium"


def copy_layout(dst: Path) -> Path:
    shutil.copytree(REPO / "routes", dst / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        dst / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    for modules in (REPO / "edge_functions").glob("*/node_modules"):
        (dst / modules.relative_to(REPO)).symlink_to(modules)
    return dst / "routes"


def wait_for(predicate: Any, timeout: float, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="idle measurement, seconds")
    args = parser.parse_args()

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    routes = copy_layout(tmp / "repo")
    daemon = DaemonProcess(
        tmp,
        "--sandbox", "--state-dir", str(tmp / "state"), "--routes-dir", str(routes),
        env=repo_environment(),
        wait=False,
    )  # fmt: skip
    proc = daemon.proc
    try:
        info = daemon.wait_started(timeout=90)
        status = daemon.status
        first = wait_for(lambda: status()["lastPass"], 180, 0.1)
        print(f"first pass: {first['outcome']} in {first['durationSeconds']}s")
        target = AwsTarget(endpoint_url=info["sandbox_url"], max_attempts=2)
        cloudfront = make_client("cloudfront", target)
        kvs = make_client("cloudfront-keyvaluestore", target)
        arn = cloudfront.describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"]

        def value() -> str | None:
            try:
                return str(kvs.get_key(KvsARN=arn, Key=KEY)["Value"])
            except kvs.exceptions.ResourceNotFoundException:
                return None

        tiers = routes / "tiers.yaml"
        latencies = []
        for i in range(args.edits):
            wanted = f"premium-bench-{i}.example.com"
            text = re.sub(
                rf"(?m)^(\s+{KEY}:\s*)\S+$", rf"\g<1>{wanted}", tiers.read_text(), count=1
            )
            wait_for(lambda: status()["running"] is None, 60, 0.05)
            t0 = time.monotonic()
            tiers.write_text(text)
            wait_for(lambda w=wanted: value() == w, 30)
            latencies.append(time.monotonic() - t0)
        print(
            f"edit -> visible in KVS over {len(latencies)} edits: "
            f"p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms (debounce 300 ms included)"
        )

        wait_for(lambda: status()["running"] is None, 60, 0.05)
        rss0, cpu0, t0 = rss_mib(proc.pid), cpu_seconds(proc.pid), time.monotonic()
        time.sleep(args.duration)
        cpu1, t1, rss1 = cpu_seconds(proc.pid), time.monotonic(), rss_mib(proc.pid)
        print(
            f"idle over {t1 - t0:.0f}s: CPU {100 * (cpu1 - cpu0) / (t1 - t0):.2f}% of one core, "
            f"RSS {rss0:.0f} -> {rss1:.0f} MiB (daemon + embedded emulated AWS)"
        )
        print(
            f"passes during the run: {status()['passes']}; mean {statistics.mean(latencies):.3f}s"
        )
    finally:
        code = daemon.terminate(60)
        print(f"SIGTERM -> exit {code}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
