"""Routing data: API calls per change set against the physical minimum and a per-item baseline.

Runs the real pass (route files written to a temporary folder, `Reconciler.run_pass`,
what the daemon runs) against the embedded emulated AWS, where calls are counted on the
wire, and prints one table. Usage:

    python benchmarks/bench_data.py            # KVS 55/500/4000 keys, DynamoDB 1k/10k items
    python benchmarks/bench_data.py --quick    # the small sizes only (the test suite's smoke run)

Columns: `calls` are write calls of the reconciler on the wire (checked against what the
pass reports its adapters did), `min` the physical minimum (ceil(n/50) UpdateKeys,
ceil(n/25) BatchWriteItem), `ratio` = calls / min, `reads` ListKeys / Scan pages,
`time s` the whole pass (route files loaded, live state read, plan, writes), `baseline`
the calls of one PutKey/PutItem per change (as per-key resources do), `speedup` =
baseline wall time / reconciler wall time for the same change set (both load the route
files and read the live state first).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")


from reconciler.aws.clients import AwsTarget, make_client
from reconciler.core.attribute_values import item_from_python
from reconciler.core.diff import plan_data
from reconciler.core.model import ResourceKind
from reconciler.core.state import (
    DesiredData,
    DesiredTable,
    KeyAttribute,
    KeySchema,
    ObservedData,
    ObservedTable,
    item_key,
)
from reconciler.engine import Outcome, PassReport, Reconciler
from reconciler.sandbox.server import SandboxServer
from tests.support.routes import write_policy, write_store, write_table

STORE, TABLE = "bench-store", "bench-table"
SCHEMA = KeySchema(KeyAttribute("tenantId"), KeyAttribute("accountId"))
WRITES = {"UpdateKeys", "PutKey", "DeleteKey", "BatchWriteItem", "PutItem", "DeleteItem"}
READS = {"ListKeys", "Scan"}


@dataclass
class Row:
    what: str
    changes: int
    calls: int
    minimum: int
    reads: int
    seconds: float
    baseline_calls: int | None = None
    baseline_seconds: float | None = None


def entries(n: int, version: int = 0, changed: int = 0) -> dict[str, str]:
    return {f"tier{i:05d}": f"o{i % 13}-v{version if i < changed else 0}.example.com" for i in range(n)}


def rows_of(n: int, version: int = 0, changed: int = 0) -> list[dict[str, str]]:
    return [
        {
            "tenantId": f"t{i:06d}",
            "accountId": str(1000 + i % 9),
            "defaultBackend": f"b{i % 11}-v{version if i < changed else 0}.example.com",
        }
        for i in range(n)
    ]


def table(n: int, version: int = 0, changed: int = 0) -> DesiredData:
    """The same rows as core values, for the pure plan (no route files, no I/O)."""
    items = {}
    for row in rows_of(n, version, changed):
        item = item_from_python(row)
        items[item_key(item, SCHEMA)] = item
    return DesiredData(tables=(DesiredTable(TABLE, SCHEMA, items, prune=True),))


class Bench:
    def __init__(self) -> None:
        self.server = SandboxServer().start()
        self.target = AwsTarget(endpoint_url=self.server.endpoint_url)
        assert self.server.hooks is not None
        self.hooks = self.server.hooks
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-data-"))
        self.routes = self.tmp / "routes"
        self.reconciler = Reconciler(self.routes, self.tmp, self.target)

    def fresh(self) -> None:
        """An empty account, an empty route folder (but the policy) and a new engine, as a
        daemon started on it would be."""
        import urllib.request

        urllib.request.urlopen(
            urllib.request.Request(f"{self.server.endpoint_url}/moto-api/reset", method="POST")
        ).read()
        shutil.rmtree(self.routes, ignore_errors=True)
        write_policy(self.routes)
        self.reconciler = Reconciler(self.routes, self.tmp, self.target)

    def counted(self, fn: Callable[[], Any]) -> tuple[Any, int, int, float]:
        self.hooks.reset()
        started = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - started
        calls = self.hooks.calls()
        writes = sum(n for ops in calls.values() for op, n in ops.items() if op in WRITES)
        reads = sum(n for ops in calls.values() for op, n in ops.items() if op in READS)
        return value, writes, reads, seconds

    def row(self, what: str, per: int) -> Row:
        """One pass over the route files as they are now."""
        report: PassReport
        report, writes, reads, seconds = self.counted(self.reconciler.run_pass)
        if report.outcome not in (Outcome.APPLIED, Outcome.NO_CHANGES):
            raise SystemExit(f"{what}: {report.outcome.value}: {report.errors}")
        reported = sum(n for op, n in report.calls if op in WRITES)
        if reported != writes:  # the pass reports what its adapters did: it must agree
            raise SystemExit(f"{what}: {writes} writes on the wire, the pass reports {report.calls}")
        data = (ResourceKind.KVS_ENTRY, ResourceKind.TABLE_ITEM)
        changes = sum(1 for c in report.applied if c.address.kind in data)
        return Row(what, changes, writes, math.ceil(changes / per), reads, seconds)

    def kvs_baseline(self) -> tuple[int, float]:
        """Loads the route files and reads the store like the reconciler does, then one
        PutKey per changed key, each with the ETag the previous one returned."""
        kvs = make_client("cloudfront-keyvaluestore", self.target)
        adapters = self.reconciler.adapters

        def run() -> None:
            (store,) = self.reconciler.desired().data.stores
            live = adapters.kvs.observe(STORE)
            etag = live.etag
            for key, value in store.entries.items():
                if live.entries.get(key) != value:
                    etag = kvs.put_key(KvsARN=live.arn, Key=key, Value=value, IfMatch=etag)["ETag"]

        _, writes, _, seconds = self.counted(run)
        return writes, seconds

    def ddb_baseline(self) -> tuple[int, float]:
        ddb = make_client("dynamodb", self.target)
        adapters = self.reconciler.adapters

        def run() -> None:
            (desired,) = self.reconciler.desired().data.tables
            live = adapters.tables.observe(TABLE)
            for key, item in desired.items.items():
                if live.items.get(key) != item:
                    ddb.put_item(TableName=TABLE, Item=item)

        _, writes, _, seconds = self.counted(run)
        return writes, seconds

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def kvs_rows(bench: Bench, n: int) -> list[Row]:
    bench.fresh()

    def declare(version: int = 0, changed: int = 0) -> None:
        write_store(bench.routes, STORE, entries(n, version, changed), prune=True)

    declare()
    rows = [bench.row(f"KVS {n} keys: initial apply", 50)]
    rows.append(bench.row(f"KVS {n} keys: converged pass", 50))
    for label, changed in (("1% change", max(1, n // 100)), ("single key", 1)):
        declare(1, changed)
        rows.append(bench.row(f"KVS {n} keys: {label}", 50))
        # The baseline makes the same number of changes, one PutKey a key, then the store
        # goes back to the base state (not reported).
        declare(2, changed)
        rows[-1].baseline_calls, rows[-1].baseline_seconds = bench.kvs_baseline()
        declare()
        bench.row("", 50)
    return rows


def ddb_rows(bench: Bench, n: int) -> list[Row]:
    bench.fresh()

    def declare(version: int = 0, changed: int = 0) -> None:
        write_table(bench.routes, TABLE, rows_of(n, version, changed), prune=True)

    declare()
    rows = [bench.row(f"DynamoDB {n} items: initial apply", 25)]
    rows.append(bench.row(f"DynamoDB {n} items: converged pass", 25))
    for label, changed in (("1% change", max(1, n // 100)), ("single item", 1)):
        declare(1, changed)
        rows.append(bench.row(f"DynamoDB {n} items: {label}", 25))
        declare(2, changed)
        rows[-1].baseline_calls, rows[-1].baseline_seconds = bench.ddb_baseline()
        declare()
        bench.row("", 25)
    return rows


def pure_plan(n: int) -> tuple[float, float]:
    """Plan time for n declared vs n observed items, 1% different (no I/O), and peak RSS."""
    desired = table(n, 1, n // 100)
    observed_items = dict(table(n).tables[0].items)
    observed = ObservedData(tables={TABLE: ObservedTable(TABLE, True, SCHEMA, observed_items, "d")})
    started = time.perf_counter()
    plan = plan_data(desired, observed)
    seconds = time.perf_counter() - started
    assert len(plan.changes) == n // 100
    return seconds, _peak_rss_mb()


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's high-water mark.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--pure-plan", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pure_plan:
        seconds, rss = pure_plan(args.pure_plan)
        n = args.pure_plan
        print(f"pure plan (fresh process), {n} items vs {n} observed, 1% differ: {seconds:.3f} s, peak RSS {rss:.0f} MB")
        return
    from reconciler.logs import configure_logging

    configure_logging("console", "error")
    bench = Bench()
    kvs_sizes = (55, 500) if args.quick else (55, 500, 4000)
    ddb_sizes = (1000,) if args.quick else (1000, 10000)
    rows: list[Row] = []
    for n in kvs_sizes:
        rows += kvs_rows(bench, n)
    for n in ddb_sizes:
        rows += ddb_rows(bench, n)
    bench.stop()

    print(f"{'change set':44} {'changes':>7} {'calls':>6} {'min':>5} {'ratio':>6} {'reads':>6} {'time s':>7} {'baseline':>8} {'calls x':>7} {'speedup':>7}")
    for r in rows:
        ratio = f"{r.calls / r.minimum:.2f}" if r.minimum else ("0 ok" if r.calls == 0 else "!")
        base = f"{r.baseline_calls:8d}" if r.baseline_calls is not None else f"{'':8}"
        times = f"{r.baseline_calls / r.calls:7.1f}" if r.baseline_calls and r.calls else f"{'':7}"
        speed = (
            f"{r.baseline_seconds / r.seconds:7.1f}" if r.baseline_seconds and r.seconds else f"{'':7}"
        )
        print(f"{r.what:44} {r.changes:7d} {r.calls:6d} {r.minimum:5d} {ratio:>6} {r.reads:6d} {r.seconds:7.2f} {base} {times} {speed}")
    import subprocess

    for n in (10_000, 100_000) if not args.quick else (10_000,):
        out = subprocess.run(
            [sys.executable, __file__, "--pure-plan", str(n)], check=True, capture_output=True, text=True
        ).stdout.strip()
        print(out)


if __name__ == "__main__":
    main()
