"""Scale benchmark: the whole reconciler against its limits, in one table.

    python benchmarks/scale.py                      # 1k, 10k, 100k tenants
    python benchmarks/scale.py --sizes 1000,10000   # any sizes
    python benchmarks/scale.py --quick              # tiny sizes (the test suite's smoke run)
    python benchmarks/scale.py --no-daemon          # skip the daemon latency rows

For each size it generates a repository in a temporary folder: the example routes/ and
edge_functions/ (the two functions, the distribution), the RoutingTable's JSONL bulk file
replaced by `size` generated tenants, a second KeyValueStore (`route-origins`) of one key
per tenant up to the 5 MB store limit (~4.9 MB of keys and values, ~23k keys), and a
ReconcilerPolicy allowing the generated origins. Then, against the embedded emulated AWS
(moto + reconciler/sandbox, seeded like the walkthrough, CloudFront Function tests running
real code), it measures:

* `pure`: load + validate + desired state + data plan against an observation that
  differs in 1% of the items, in a fresh subprocess (so peak RSS belongs to that size and
  includes the interpreter and imports). The observation is built in memory: reading
  100k items from moto is moto's cost and is the separate `observe` row.
* whole passes (`Reconciler.run_pass`, the daemon's pass) for the initial apply, a
  converged pass, a 1% change (1% of the tenants and 1% of the store keys) and a
  single-tenant change, with the API calls per operation counted on the sandbox's wire,
  each beside its physical minimum: ceil(n/50) UpdateKeys, ceil(n/25) BatchWriteItem,
  ceil(keys/50) ListKeys pages, ceil(table bytes / 1 MB) Scan pages.
* the same change sets applied by a per-item baseline (load the route files, read the
  live store and table like the reconciler, then one PutKey / PutItem per change): the
  ratio of its write calls and of its wall time to the reconciler's data path alone (the
  same pass over a copy of the route files holding only the data documents).
* daemon latency: `python -m reconciler run --endpoint-url <this sandbox>` as a
  subprocess, a tenant's backend edited in the JSONL file, GetItem polled until the new
  value is visible (p50, p95); for the smallest and the largest size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_PROFILE", None)

TABLE = "tenant-routing-config-prod"  # the example RoutingTable (routes/tenants.yaml)
STORE = "route-origins"
STORE_LIMIT_BYTES = 4_900_000  # keys + values, under the 5 MB KeyValueStore limit
KVS_BATCH, DDB_BATCH, KVS_PAGE = 50, 25, 50
SCAN_PAGE_BYTES = 1_000_000  # moto cuts a Scan page at 1,000,000 bytes of its item size
BACKENDS = ("basic-api.example.com", "standard-api.example.com", "premium-api.example.com")
VALUE_HEAD = "o" * 60 + "." + "p" * 60 + "." + "q" * 60 + "."  # ~200-byte origins

POLICY = """apiVersion: edge.routing/v1
kind: ReconcilerPolicy
metadata: {name: edge-routing}
spec:
  allowedOriginPatterns: ["*.example.com"]
  pruneGuard: {maxDeleteFraction: 0.25, allowEmpty: false}
"""

# -- the generated repository -------------------------------------------------------------


def store_keys(tenants: int) -> int:
    """One key per tenant, capped by the store's byte limit."""
    per_key = len(f"route-{0:06d}") + len(f"{VALUE_HEAD}s{tenants}-v0.example.com")
    return min(tenants, STORE_LIMIT_BYTES // per_key)


@dataclass
class RouteRepo:
    root: Path
    tenants: int
    keys: int
    # index -> version of the changed tenants / keys (absent: version 0)
    tenant_versions: dict[int, int] = field(default_factory=dict)
    key_versions: dict[int, int] = field(default_factory=dict)

    @property
    def routes(self) -> Path:
        return self.root / "routes"

    @property
    def bulk(self) -> Path:
        return self.routes / "tenants" / "bulk.jsonl"

    @staticmethod
    def tenant_id(i: int) -> str:
        return f"tenant-{i:06d}"

    @staticmethod
    def account_id(i: int) -> str:
        return str(1000 + i % 7)

    def backend(self, i: int) -> str:
        v = self.tenant_versions.get(i, 0)
        if v:
            return f"tenant-{i}-v{v}.example.com"
        return f"tenant-{i}.example.com" if i % 10 == 0 else BACKENDS[i % 3]

    def generate(self) -> None:
        shutil.copytree(REPO / "routes", self.routes)
        shutil.copytree(
            REPO / "edge_functions",
            self.root / "edge_functions",
            ignore=shutil.ignore_patterns("node_modules"),
        )
        for old in (self.routes / "tenants").glob("*"):
            old.unlink()
        (self.routes / "policy.yaml").write_text(POLICY)
        self.write()

    def render(self) -> dict[Path, str]:
        """The generated files' text (the bulk file and the store)."""
        tiers = ("basic", "standard", "premium")
        bulk = "".join(
            json.dumps(
                {
                    "tenantId": self.tenant_id(i),
                    "accountId": self.account_id(i),
                    "defaultBackend": self.backend(i),
                    "tier": tiers[i % 3],
                    "weight": i % 100,
                }
            )
            + "\n"
            for i in range(self.tenants)
        )
        lines = [
            "apiVersion: edge.routing/v1",
            "kind: KeyValueStore",
            f"metadata: {{name: {STORE}}}",
            "spec:",
            "  prune: true",
            "  entries:",
        ]
        for k in range(self.keys):
            lines.append(f"    route-{k:06d}: {VALUE_HEAD}s{k}-v{self.key_versions.get(k, 0)}.example.com")
        return {self.bulk: bulk, self.routes / "store.yaml": "\n".join(lines) + "\n"}

    def changed(self) -> dict[Path, str]:
        """The files whose generated text differs from what is saved."""
        return {p: t for p, t in self.render().items() if not p.exists() or p.read_text() != t}

    def write(self, files: dict[Path, str] | None = None) -> None:
        """Save each changed file in one write, as an editor saves."""
        for path, text in (self.changed() if files is None else files).items():
            path.write_text(text)

    def data_only(self, dest: Path) -> Path:
        """A copy of the route files with only the data documents (policy, stores, tables,
        the bulk file): the reconciler's data path, like for like with the baseline."""
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copytree(self.routes / "tenants", dest / "tenants")
        for path in sorted(self.routes.glob("*.yaml")):
            kept = [
                doc
                for doc in path.read_text().split("\n---\n")
                if re.search(r"(?m)^kind: (ReconcilerPolicy|KeyValueStore|RoutingTable)$", doc)
            ]
            if kept:
                (dest / path.name).write_text("\n---\n".join(kept) + "\n")
        return dest

    def change(self, tenants: list[int], keys: list[int], version: int) -> None:
        self.tenant_versions = {i: version for i in tenants}
        self.key_versions = {k: version for k in keys}
        self.write()


def one_percent(n: int) -> list[int]:
    step = 100 if n >= 100 else n
    return list(range(0, n, step))


# -- the pure part, in a fresh process ----------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries the parent's high-water mark
    across fork + exec into it, so a child of a big benchmark process reports the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pure(root: Path) -> dict[str, float]:
    started = time.perf_counter()

    from reconciler.aws.dynamodb import observed_items, table_digest
    from reconciler.core.attribute_values import ValueInterner
    from reconciler.core.diff import plan_data
    from reconciler.core.state import ObservedData, ObservedStore, ObservedTable, item_key
    from reconciler.engine.desired import desired_data
    from reconciler.routes import load_route_set

    t_import = time.perf_counter()
    c0 = time.process_time()  # CPU too: wall time on a shared machine swings with neighbours
    route_set = load_route_set(root / "routes", root)
    t_load = time.perf_counter()
    data = desired_data(route_set)
    t_desired = time.perf_counter()
    c_desired = time.process_time() - c0

    # An observation built the way the adapters build it, from pages of fresh objects as
    # boto3 parses them (a JSON round trip), 1% of it different; not timed (that is the
    # `observe` row), but its memory is in the peak RSS, as in the daemon.
    stores = {}
    for s in data.stores:
        entries: dict[str, str] = {}
        for n, (key, value) in enumerate(json.loads(json.dumps(list(s.entries.items())))):
            entries[key] = "changed.example.com" if n % 100 == 0 else value
        stores[s.name] = ObservedStore(s.name, True, f"arn:{s.name}", "etag", entries)
    tables = {}
    for t in data.tables:
        wire = list(t.items.values())

        def pages(wire: list[Any] = wire) -> Iterator[list[dict[str, Any]]]:
            for start in range(0, len(wire), 5000):
                page = json.loads(json.dumps(wire[start : start + 5000]))
                for n in range(0, len(page), 100):
                    page[n]["defaultBackend"] = {"S": "changed.example.com"}
                yield page

        items = {item_key(i, t.key_schema): i for i in observed_items(pages(), ValueInterner())}
        tables[t.name] = ObservedTable(t.name, True, t.key_schema, items, table_digest(items))
    observed = ObservedData(stores, tables)

    t_plan0, c1 = time.perf_counter(), time.process_time()
    plan = plan_data(data, observed, route_set.content_hash)
    t_plan = time.perf_counter()
    c_plan = time.process_time() - c1
    return {
        "imports": t_import - started,
        "load": t_load - t_import,
        "desired": t_desired - t_load,
        "plan": t_plan - t_plan0,
        "changes": len(plan.changes),
        "cpu": c_desired + c_plan,  # load + validate + desired + plan
        "rss_mb": peak_rss_mb(),
    }


# -- the sandbox side ---------------------------------------------------------------------

WRITE_OPS = {
    "UpdateKeys", "PutKey", "DeleteKey", "BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem",
    "CreateKeyValueStore", "CreateTable", "CreateFunction", "UpdateFunction", "PublishFunction",
    "PublishVersion", "UpdateFunctionCode", "UpdateFunctionConfiguration", "DeleteFunction",
    "UpdateDistribution",
}  # fmt: skip
MAIN_OPS = ("UpdateKeys", "BatchWriteItem", "ListKeys", "Scan")


@dataclass
class Row:
    size: str
    what: str
    kvs_changes: int = 0
    ddb_changes: int = 0
    ops: dict[str, int] = field(default_factory=dict)  # operation -> calls
    minimum: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    baseline_writes: int | None = None
    baseline_seconds: float | None = None
    data_seconds: float | None = None  # the reconciler's data path alone, same change set
    note: str = ""

    @property
    def data_writes(self) -> int:
        return self.ops.get("UpdateKeys", 0) + self.ops.get("BatchWriteItem", 0)


class Bench:
    def __init__(self) -> None:
        from reconciler.logs import configure_logging

        configure_logging("console", "error")
        from reconciler.aws.clients import AwsTarget
        from reconciler.sandbox.server import SandboxServer

        self.server = SandboxServer().start()
        assert self.server.hooks is not None
        self.hooks = self.server.hooks
        self.target = AwsTarget(endpoint_url=self.server.endpoint_url)

    def fresh_account(self) -> None:
        from reconciler.sandbox.seed import seed

        urllib.request.urlopen(
            urllib.request.Request(f"{self.server.endpoint_url}/moto-api/reset", method="POST")
        ).read()
        seed(self.target)

    def counted(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, int], float]:
        self.hooks.reset()
        started = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - started
        ops: dict[str, int] = {}
        for per_service in self.hooks.calls().values():
            for op, n in per_service.items():
                ops[op] = ops.get(op, 0) + n
        return value, ops, seconds


def reads_of(ops: dict[str, int]) -> str:
    """Every call that is not a write, e.g. "DescribeTable 1, GetRecords 1"."""
    listed = [f"{op} {n}" for op, n in sorted(ops.items()) if op not in WRITE_OPS]
    return ", ".join(listed) or "none"


def table_bytes(items: Any) -> int:
    """Table size by moto's item size (names + values, numbers as decimal text); AWS's
    own size formula stores numbers in ~half the digits, so its count is a bit lower."""
    total = 0
    for item in items:
        for name, value in item.items():
            ((_, raw),) = value.items()
            total += len(name.encode()) + len(str(raw).encode())
    return total


def run_size(bench: Bench, tenants: int, keys: int | None, daemon: bool, edits: int) -> list[Row]:
    from reconciler.aws.clients import make_client
    from reconciler.core.model import ResourceKind
    from reconciler.engine import (
        Adapters,
        EngineSettings,
        GateSettings,
        Outcome,
        Reconciler,
        Scope,
    )
    from reconciler.engine.desired import desired_data
    from reconciler.routes import load_route_set

    label = f"{tenants:,}"
    rows: list[Row] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    repo = RouteRepo(tmp / "repo", tenants, store_keys(tenants) if keys is None else keys)
    repo.generate()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--pure", str(repo.root)],
            check=True, capture_output=True, text=True, cwd=REPO,
        ).stdout  # fmt: skip
        p = json.loads(out)
        store_mb = sum(
            len(f"route-{k:06d}") + len(f"{VALUE_HEAD}s{k}-v0.example.com") for k in range(repo.keys)
        ) / 1e6
        rows.append(
            Row(
                label,
                f"pure: load+validate+plan ({repo.keys:,} keys, {store_mb:.1f} MB)",
                seconds=p["load"] + p["desired"] + p["plan"],
                note=(
                    f"peak RSS {p['rss_mb']:.0f} MB; load {p['load']:.2f} + desired {p['desired']:.2f}"
                    f" + plan {p['plan']:.2f} s wall, {p['cpu']:.2f} s CPU; imports {p['imports']:.2f} s"
                ),
            )
        )

        bench.fresh_account()
        # The sandbox times TestFunction by wall clock against a 1 ms budget (docs/lifecycle.md):
        # on a busy machine it reads 100, and the threshold is not what is measured here.
        settings = EngineSettings(gate=GateSettings(max_compute_utilization=100))
        rec = Reconciler(repo.routes, repo.root, bench.target, settings=settings)

        def whole_pass(what: str, reads_min: bool) -> Row:
            report, ops, seconds = bench.counted(lambda: rec.run_pass(False))
            assert report.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES), report.errors
            # What the pass reports its adapters wrote is what the wire saw.
            for op, n in report.calls:
                assert ops.get(op) == n, (what, op, n, ops)
            per_store = Counter(c.address.container for c in report.applied if c.address.kind is ResourceKind.KVS_ENTRY)
            per_table = Counter(c.address.container for c in report.applied if c.address.kind is ResourceKind.TABLE_ITEM)
            row = Row(label, what, sum(per_store.values()), sum(per_table.values()), ops, seconds=seconds)
            row.minimum = {  # per container: batches do not span stores or tables
                "UpdateKeys": sum(math.ceil(n / KVS_BATCH) for n in per_store.values()),
                "BatchWriteItem": sum(math.ceil(n / DDB_BATCH) for n in per_table.values()),
            }
            if reads_min:  # the store and table exist: their pages
                stored = desired_data(load_route_set(repo.routes, repo.root))
                n_keys = sum(len(s.entries) for s in stored.stores)
                n_pages = sum(math.ceil(len(s.entries) / KVS_PAGE) for s in stored.stores)
                size = sum(table_bytes(t.items.values()) for t in stored.tables)
                row.minimum |= {"ListKeys": n_pages, "Scan": math.ceil(size / SCAN_PAGE_BYTES)}
                row.note = f"{n_keys:,} keys, table {size / 1e6:.1f} MB"
            else:
                row.minimum |= {"ListKeys": 0, "Scan": 0}
            others = sorted(
                f"{op} {n}" for op, n in ops.items() if op in WRITE_OPS and op not in MAIN_OPS
            )
            if others:
                row.note = "other writes: " + ", ".join(others)
            return row

        rows.append(whole_pass("initial apply", False))
        rows.append(whole_pass("converged pass", True))
        # The same resync again: the table created by the first pass is now followed by its
        # DynamoDB Stream (no Scan), the store by its ETag (no ListKeys).
        resync = whole_pass("converged resync (stream, ETag)", False)
        resync.note = "reads: " + reads_of(resync.ops)
        rows.append(resync)
        # What a resync costs with nothing known (a restart): every store listed, every
        # table scanned.
        fresh = Reconciler(repo.routes, repo.root, bench.target, settings=settings)
        report, ops, seconds = bench.counted(lambda: fresh.run_pass(True))
        rows.append(
            Row(label, "full resync after a restart (dry)", ops=ops, seconds=seconds,
                note="reads: " + reads_of(ops))
        )  # fmt: skip

        # One set of adapters for the data-only rows (observe, baseline, data path), fresh
        # here: nothing cached, everything read.
        adapters = Adapters.for_target(bench.target)
        data = desired_data(load_route_set(repo.routes, repo.root))

        def observe_data() -> None:
            for store in data.stores:
                adapters.kvs.observe(store.name)
            for table in data.tables:
                adapters.tables.observe(table.name)

        _, ops, seconds = bench.counted(observe_data)
        rows.append(
            Row(label, "observe only (moto ListKeys + Scan)", ops=ops, seconds=seconds, note="moto's cost")
        )

        kvs_client = make_client("cloudfront-keyvaluestore", bench.target)
        ddb_client = make_client("dynamodb", bench.target)

        def baseline() -> int:
            """Per-item writes after reading the live state the same way."""
            desired = desired_data(load_route_set(repo.routes, repo.root))
            writes = 0
            for s in desired.stores:
                live = adapters.kvs.observe(s.name)
                etag = live.etag
                for key, value in s.entries.items():
                    if live.entries.get(key) != value:
                        etag = kvs_client.put_key(KvsARN=live.arn, Key=key, Value=value, IfMatch=etag)["ETag"]
                        writes += 1
            for t in desired.tables:
                seen = adapters.tables.observe(t.name)
                for k, item in t.items.items():
                    if seen.items.get(k) != item:
                        ddb_client.put_item(TableName=t.name, Item=item)
                        writes += 1
            return writes

        middle = tenants // 2
        for what, changed_tenants, changed_keys in (
            ("1% change", one_percent(tenants), one_percent(repo.keys)),
            ("single-tenant change", [middle], []),
        ):
            repo.change(changed_tenants, changed_keys, 1)
            row = whole_pass(what, True)
            repo.change(changed_tenants, changed_keys, 2)  # the same change set, other values
            writes, _, row.baseline_seconds = bench.counted(baseline)
            row.baseline_writes = writes
            # The reconciler's data path alone on the same change set: the same pass over
            # the data documents only (the baseline touches no functions or distribution,
            # so this is the like-for-like time).
            repo.change(changed_tenants, changed_keys, 3)
            data_routes = repo.data_only(tmp / "data-only" / "routes")
            data_rec = Reconciler(data_routes, data_routes.parent, bench.target, adapters=adapters)
            report, _, row.data_seconds = bench.counted(data_rec.run_pass)
            assert report.outcome is Outcome.APPLIED, report.errors
            rows.append(row)
            repo.change([], [], 0)
            assert rec.run_pass(False).errors == ()  # back to the base state (not reported)

        # What the daemon runs after a route-file change: a targeted pass (Scope.CHANGED),
        # which re-reads only the items the change touches.
        rec.run_pass(False)  # a resync first: the cache holds the whole observation
        repo.change([middle], [], 4)
        report, ops, seconds = bench.counted(lambda: rec.run_pass(False, scope=Scope.CHANGED))
        assert report.outcome is Outcome.APPLIED, report.errors
        targeted = Row(label, "single-tenant change, targeted pass", 0, len(report.applied), ops,
                       {"UpdateKeys": 0, "BatchWriteItem": 1, "ListKeys": 0, "Scan": 0}, seconds)  # fmt: skip
        targeted.note = "reads: " + reads_of(ops)
        rows.append(targeted)
        repo.change([], [], 0)
        assert rec.run_pass(False, scope=Scope.CHANGED).errors == ()

        if daemon:
            rows.append(daemon_latency(bench, repo, label, edits))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# -- the daemon ---------------------------------------------------------------------------


def daemon_latency(bench: Bench, repo: RouteRepo, label: str, edits: int) -> Row:
    """Edit one tenant's backend in the JSONL file, poll GetItem until it shows."""
    from reconciler.aws.clients import make_client
    from tests.support.daemon import DaemonProcess

    workdir = repo.root.parent / "daemon"
    daemon = DaemonProcess(
        workdir,
        "--endpoint-url", bench.server.endpoint_url,
        "--routes-dir", str(repo.routes), "--root", str(repo.root),
        "--resync-interval", "0", "--state-dir", str(workdir / "state"),
        wait=False,
    )  # fmt: skip
    ddb = make_client("dynamodb", bench.target)

    def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
        """Polls every 10 ms (the latency's resolution); stops if the daemon died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.proc.poll() is not None:
                raise SystemExit(
                    f"daemon exited {daemon.proc.returncode}:\n{daemon.log_path.read_text()[-3000:]}"
                )
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout}s:\n{daemon.log_path.read_text()[-3000:]}")

    try:
        daemon.wait_started(timeout=120)
        status = daemon.status
        first = wait_for(lambda: status()["lastPass"], 600, 0.2)
        latencies: list[float] = []
        passes: list[float] = []
        edit_reads: list[int] = []
        for e in range(edits):
            i = (repo.tenants // (edits + 1)) * (e + 1)
            key = {"tenantId": {"S": repo.tenant_id(i)}, "accountId": {"S": repo.account_id(i)}}
            wait_for(daemon.idle, 600, 0.05)
            repo.tenant_versions = {i: 100 + e}
            wanted = repo.backend(i)
            files = repo.changed()  # made before the clock starts: the edit is the save
            before = bench.hooks.calls()
            t0 = time.monotonic()
            repo.write(files)

            def visible(k: dict[str, Any] = key, w: str = wanted) -> bool:
                item = ddb.get_item(TableName=TABLE, Key=k, ConsistentRead=True).get("Item", {})
                return bool(item.get("defaultBackend", {}).get("S") == w)

            wait_for(visible, 600)
            latencies.append(time.monotonic() - t0)
            wait_for(daemon.idle, 600, 0.05)
            passes.append(float(status()["lastPass"]["durationSeconds"]))
            edit_reads.append(_pass_reads(before, bench.hooks.calls()))
        repo.tenant_versions = {}
        repo.write()
        wait_for(daemon.idle, 600, 0.05)
        rss = _peak_rss_mb(daemon.proc.pid)
    finally:
        daemon.terminate(120)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]

    return Row(
        label,
        f"daemon: edit -> visible, p50 ({edits} edits)",
        seconds=pct(50),
        note=(
            f"p95 {pct(95):.2f} s, max {max(latencies):.2f} s; pass {statistics.median(passes):.2f} s "
            f"median; reads per edit {statistics.median(edit_reads):.0f} (median, the polls "
            f"excluded); daemon peak RSS {rss:.0f} MB; debounce 0.3 s; first pass "
            f"{first['durationSeconds']:.1f} s"
        ),
    )


def _pass_reads(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> int:
    """Read calls between two snapshots of the sandbox's counts, the benchmark's own
    GetItem polls left out."""
    total = 0
    for service, ops in after.items():
        for op, n in ops.items():
            if op in WRITE_OPS or op == "GetItem":
                continue
            total += n - before.get(service, {}).get(op, 0)
    return total


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the table ----------------------------------------------------------------------------


def cell(row: Row, op: str) -> str:
    if op not in row.ops and op not in row.minimum:
        return ""
    calls, minimum = row.ops.get(op, 0), row.minimum.get(op)
    if minimum is None:
        return f"{calls}"
    if minimum == 0:
        return f"{calls}/0" + (" ok" if calls == 0 else " !")
    return f"{calls}/{minimum} {calls / minimum:.2f}"


def render(rows: list[Row]) -> str:
    head = (
        f"{'tenants':>8}  {'measurement':44} {'changes':>11} {'UpdateKeys':>13} {'BatchWriteItem':>15} "
        f"{'ListKeys':>13} {'Scan':>9} {'other':>5} {'time s':>7} {'data s':>6} {'base calls x':>12} {'base time x':>11}  notes"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        changes = f"{r.kvs_changes}+{r.ddb_changes}" if r.ops and r.minimum else ""
        other = sum(n for op, n in r.ops.items() if op not in MAIN_OPS) if r.ops else ""
        base_calls = (
            f"{r.baseline_writes / r.data_writes:.1f}" if r.baseline_writes and r.data_writes else ""
        )
        base_time = (
            f"{r.baseline_seconds / r.data_seconds:.2f}" if r.baseline_seconds and r.data_seconds else ""
        )
        seconds = f"{r.seconds:.2f}" if r.seconds is not None else ""
        data_s = f"{r.data_seconds:.2f}" if r.data_seconds is not None else ""
        out.append(
            f"{r.size:>8}  {r.what:44} {changes:>11} {cell(r, 'UpdateKeys'):>13} {cell(r, 'BatchWriteItem'):>15} "
            f"{cell(r, 'ListKeys'):>13} {cell(r, 'Scan'):>9} {other!s:>5} {seconds:>7} {data_s:>6} {base_calls:>12} {base_time:>11}  {r.note}"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="tenant counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (60 and 300 tenants)")
    parser.add_argument("--no-daemon", action="store_true", help="skip the daemon latency rows")
    parser.add_argument("--edits", type=int, default=20, help="daemon edits at small sizes")
    parser.add_argument("--large-edits", type=int, default=5, help="daemon edits at >= 50k tenants")
    parser.add_argument("--json", type=Path, help="also write the rows to this file as JSON")
    parser.add_argument("--pure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pure:
        print(json.dumps(pure(args.pure)))
        return
    sizes = [60, 300] if args.quick else [int(s) for s in args.sizes.split(",")]
    bench = Bench()
    rows: list[Row] = []
    started = time.perf_counter()
    try:
        for tenants in sizes:
            daemon = not args.no_daemon
            edits = args.large_edits if tenants >= 50_000 else (3 if args.quick else args.edits)
            rows += run_size(bench, tenants, None, daemon, edits)
            print(f"[{tenants:,} tenants done, {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    finally:
        bench.server.stop()
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(
        "\nchanges: KVS keys + table items written. Call cells: calls/minimum ratio. other: every "
        "other call of the pass (describes, function and distribution reads, creates).\n"
        "time s: the whole pass (route files, data, functions, distribution). data s: the "
        "reconciler's data path alone (load, read store + table, plan, batched writes).\n"
        "base calls x / base time x: the per-item baseline (load, the same reads, one PutKey / "
        "PutItem per change) against the reconciler on the same change set: its write calls / "
        "the reconciler's, its wall time / data s."
    )


if __name__ == "__main__":
    main()
