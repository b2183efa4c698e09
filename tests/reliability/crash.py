"""Crash trials: SIGKILL `reconciler apply` (a subprocess) at random points, then recover.

The emulated AWS runs in this process (a `SandboxServer`), so it outlives the killed
reconciler and its wire hooks see every request with its body. One trial:

1. reset the sandbox, seed it, apply the change set's *before* route files in-process
   (the baseline), plant an undeclared key and item where the change set keeps prune off;
2. start `python -m reconciler apply --auto-approve` on the *after* route files and kill
   its process group with SIGKILL at the chosen point:
   * `before-write`: a race action on the i-th write of the change set kills the client
     and a reset fault drops that request, so the write does not land;
   * `after-write`: the race action kills the client, then the request is served: the
     write lands and nobody reads the answer;
   * `delay`: a random delay after the reconciler's first request (any phase, including
     local work such as the Node tests or the package build);
3. run a fresh pass in-process (`Reconciler.run_pass`) and check the invariants
   (`check_invariants`): converged, a second plan empty, every declared key and item live
   with its declared value, no delete request ever sent for a declared key or item, the
   distribution unchanged outside the owned fields, the undeclared key and item untouched
   (prune off), exactly one new Lambda version per code change.

Used by `tests/reliability/test_crash.py` (a sample) and `benchmarks/crash_trials.py`
(50+ trials and the table in docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from reconciler.aws.clients import KVS_SERVICE, AwsTarget, make_client
from reconciler.core.attribute_values import canonical_item
from reconciler.core.state import item_key
from reconciler.engine import Adapters, EngineSettings, GateSettings, Outcome, Reconciler
from reconciler.engine.desired import desired_data
from reconciler.routes import load_route_set
from reconciler.sandbox.hooks import WireCall
from reconciler.sandbox.seed import seed
from reconciler.sandbox.server import SandboxServer

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("cloudfront", KVS_SERVICE, "dynamodb", "lambda", "iam", "sts")
STORE = "tier-origins"
TABLE = "tenant-routing-config-prod"
LAMBDA = "tenant-router"
OUTSIDER_KEY = "outsider-key"
OUTSIDER_VALUE = "outsider.example.com"
OUTSIDER_ITEM = {
    "tenantId": {"S": "outsider"},
    "accountId": {"S": "9999"},
    "note": {"S": "not ours"},
}

WRITES: dict[str, set[str]] = {
    "cloudfront": {
        "CreateKeyValueStore",
        "CreateFunction",
        "UpdateFunction",
        "PublishFunction",
        "UpdateDistribution",
    },
    KVS_SERVICE: {"UpdateKeys", "PutKey", "DeleteKey"},
    "dynamodb": {"CreateTable", "BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem"},
    "lambda": {
        "CreateFunction",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
        "PublishVersion",
        "DeleteFunction",
    },
}
PUBLISHES = {("cloudfront", "PublishFunction"), ("lambda", "PublishVersion")}
# Fields of a declared behaviour the reconciler owns (docs/wiring.md); the legacy cache
# settings go when it changes a behaviour's cache policy.
OWNED_BEHAVIOUR_FIELDS = (
    "FunctionAssociations",
    "LambdaFunctionAssociations",
    "CachePolicyId",
    "OriginRequestPolicyId",
    "ForwardedValues",
    "MinTTL",
    "DefaultTTL",
    "MaxTTL",
)
DECLARED_PATHS = {"default", "/tenant/*"}
# The emulated TestFunction runs the code (SandboxServer()) and times it
# by wall clock against a 1 ms budget (docs/lifecycle.md): on a loaded machine it can read
# above the gate's 70. The in-process passes here are about crashes and faults, not that
# threshold, so they accept any figure (function errors still fail the gate). The killed
# `reconciler apply` subprocess runs with the default threshold.
ENGINE_SETTINGS = EngineSettings(gate=GateSettings(max_compute_utilization=100))
STRATEGIES = ("before-write", "after-write", "delay")


def is_write(service: str, operation: str) -> bool:
    return operation in WRITES.get(service, set())


# --- route sets ---------------------------------------------------------------------------


def extra_tiers(n: int, value: str = "t{:03d}-api.example.com") -> dict[str, str]:
    return {f"t{i:03d}": value.format(i) for i in range(n)}


def extra_tenants(n: int, backend: str = "b{}.example.com") -> list[dict[str, str]]:
    return [
        {
            "tenantId": f"tenant{i:03d}",
            "accountId": str(10000 + i),
            "defaultBackend": backend.format(i % 7),
        }
        for i in range(n)
    ]


def write_repo(
    dest: Path,
    *,
    tiers: dict[str, str],
    tenants: list[dict[str, str]],
    prune: bool,
    code_edit: str = "",
) -> Path:
    """A copy of the example repo with extra store entries, bulk tenants and prune set."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO / "routes", dest / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        dest / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    tiers_file = dest / "routes/tiers.yaml"
    text = tiers_file.read_text()
    anchor = "    premium: premium-api.example.com\n"
    assert anchor in text, "routes/tiers.yaml changed shape"
    text = text.replace(anchor, anchor + "".join(f"    {k}: {v}\n" for k, v in tiers.items()))
    tiers_file.write_text(text.replace("prune: true", f"prune: {str(prune).lower()}"))
    tenants_file = dest / "routes/tenants.yaml"
    tenants_file.write_text(
        tenants_file.read_text().replace("prune: true", f"prune: {str(prune).lower()}")
    )
    (dest / "routes/tenants/extra.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tenants))
    if code_edit:
        for path in (
            "edge_functions/tenant_router/index.mjs",
            "edge_functions/tier_router/index.js",
        ):
            f = dest / path
            f.write_text(f.read_text() + f"\n// {code_edit}\n")
    return dest


@dataclass(frozen=True)
class ChangeSet:
    name: str
    before: dict[str, Any] | None  # write_repo arguments of the baseline; None: empty account
    after: dict[str, Any]
    lambda_code_changes: int  # new Lambda versions this change set must publish

    @property
    def prune(self) -> bool:
        return bool(self.after["prune"])


BASE: dict[str, Any] = {"tiers": extra_tiers(120), "tenants": extra_tenants(100), "prune": False}

CHANGE_SETS = (
    # 14 writes: store + 3 UpdateKeys, table + 5 BatchWriteItem, both functions, wiring.
    ChangeSet("initial apply", None, BASE, 1),
    # 150 puts: 3 UpdateKeys chained by ETag.
    ChangeSet(
        "KVS 150 keys",
        BASE,
        {
            **BASE,
            "tiers": extra_tiers(120, "t{:03d}-v2.example.com")
            | {f"n{i:02d}": f"n{i:02d}.example.com" for i in range(30)},
        },
        0,
    ),
    # 100 items changed: 4 BatchWriteItem.
    ChangeSet(
        "table 100 items", BASE, {**BASE, "tenants": extra_tenants(100, "v2-b{}.example.com")}, 0
    ),
    # both functions edited: UpdateFunction, PublishFunction, UpdateFunctionCode, PublishVersion,
    # UpdateDistribution.
    ChangeSet("function edits", BASE, {**BASE, "code_edit": "crash-trial edit"}, 1),
    # prune on: 30 of 153 keys and 30 of 142 items go (under the 25 % guard).
    ChangeSet(
        "prune 30+30",
        {**BASE, "prune": True, "tiers": extra_tiers(150), "tenants": extra_tenants(130)},
        {**BASE, "prune": True},
        0,
    ),
)


# --- the wire: a recorder of every request (with its body) --------------------------------


@dataclass
class Recorded:
    service: str
    operation: str
    method: str
    path: str
    body: bytes


class Recorder:
    """A race action on every service that keeps each request; sets `first` on the first."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self.first = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, call: WireCall) -> None:
        with self._lock:
            self.calls.append(
                Recorded(call.service, call.operation, call.method, call.path, call.body)
            )
        self.first.set()

    def writes(self) -> list[Recorded]:
        with self._lock:
            return [c for c in self.calls if is_write(c.service, c.operation)]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
        self.first.clear()


def deleted_keys(calls: list[Recorded]) -> tuple[set[str], set[tuple[str, str]]]:
    """KVS keys and (tenantId, accountId) items some request asked to delete."""
    keys: set[str] = set()
    items: set[tuple[str, str]] = set()
    for c in calls:
        if c.service == KVS_SERVICE and c.operation == "UpdateKeys":
            keys |= {d["Key"] for d in json.loads(c.body or b"{}").get("Deletes", [])}
        elif c.service == KVS_SERVICE and c.operation == "DeleteKey":
            keys.add(unquote(c.path.rsplit("/", 1)[-1]))
        elif c.service == "dynamodb" and c.operation == "BatchWriteItem":
            for requests in json.loads(c.body)["RequestItems"].values():
                for r in requests:
                    if "DeleteRequest" in r:
                        k = r["DeleteRequest"]["Key"]
                        items.add((k["tenantId"]["S"], k["accountId"]["S"]))
        elif c.service == "dynamodb" and c.operation == "DeleteItem":
            k = json.loads(c.body)["Key"]
            items.add((k["tenantId"]["S"], k["accountId"]["S"]))
    return keys, items


def phase_of(write: Recorded) -> str:
    op = write.operation
    if op in ("CreateKeyValueStore", "CreateTable"):
        return "stores+tables"
    if op == "UpdateKeys":
        body = json.loads(write.body or b"{}")
        return "prune" if body.get("Deletes") and not body.get("Puts") else "data"
    if op == "BatchWriteItem":
        requests = [r for rs in json.loads(write.body)["RequestItems"].values() for r in rs]
        return "prune" if all("DeleteRequest" in r for r in requests) else "data"
    if op == "UpdateDistribution":
        return "wiring"
    if write.service == "lambda" and op == "DeleteFunction":
        return "clean-up"
    return "functions"


# --- the sandbox --------------------------------------------------------------------------


class Sandbox:
    """The in-process emulated AWS with a permanent recorder."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.target = AwsTarget(endpoint_url=server.endpoint_url)
        self.recorder = Recorder()
        self._recorder_ids: list[str] = []

    @property
    def hooks(self) -> Any:
        assert self.server.hooks is not None
        return self.server.hooks

    def reset(self) -> None:
        urllib.request.urlopen(
            urllib.request.Request(f"{self.server.endpoint_url}/moto-api/reset", method="POST"),
            timeout=30,
        ).read()
        self.hooks.reset()
        self.recorder.clear()
        self._recorder_ids = [
            self.hooks.inject(s, kind="race", action=self.recorder) for s in SERVICES
        ]
        seed(self.target)

    def clear_faults(self) -> None:
        for f in self.hooks.faults():
            if f["id"] not in self._recorder_ids:
                self.hooks.remove(f["id"])

    def client(self, service: str) -> Any:
        return make_client(service, self.target)


def store_arn(sandbox: Sandbox) -> str:
    return str(
        sandbox.client("cloudfront").describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"]
    )


def plant_outsiders(sandbox: Sandbox) -> None:
    kvs = sandbox.client(KVS_SERVICE)
    arn = store_arn(sandbox)
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    kvs.put_key(KvsARN=arn, Key=OUTSIDER_KEY, Value=OUTSIDER_VALUE, IfMatch=etag)
    sandbox.client("dynamodb").put_item(TableName=TABLE, Item=OUTSIDER_ITEM)


def distribution_config(sandbox: Sandbox) -> dict[str, Any]:
    cf = sandbox.client("cloudfront")
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    return dict(cf.get_distribution_config(Id=summary["Id"])["DistributionConfig"])


def not_owned(config: dict[str, Any]) -> dict[str, Any]:
    """The distribution config minus the fields the reconciler owns."""
    out = copy.deepcopy(config)
    behaviours = [("default", out["DefaultCacheBehavior"])] + [
        (b["PathPattern"], b) for b in (out.get("CacheBehaviors") or {}).get("Items") or []
    ]
    for path, behaviour in behaviours:
        if path in DECLARED_PATHS:
            for name in OWNED_BEHAVIOUR_FIELDS:
                behaviour.pop(name, None)
    return out


def lambda_versions(sandbox: Sandbox) -> int:
    lam = sandbox.client("lambda")
    try:
        versions = lam.list_versions_by_function(FunctionName=LAMBDA)["Versions"]
    except lam.exceptions.ResourceNotFoundException:
        return 0
    return sum(1 for v in versions if v["Version"] != "$LATEST")


# --- one trial ----------------------------------------------------------------------------


@dataclass
class KillPlan:
    strategy: str
    write_index: int | None = None  # for before-/after-write: index into the calibrated writes
    delay: float = 0.0  # for delay: seconds after the first request


@dataclass
class TrialResult:
    change_set: str
    strategy: str
    phase: str  # where the kill landed
    detail: str
    killed: bool
    recovery: str  # the recovery pass's outcome
    violations: list[str] = field(default_factory=list)
    duration: float = 0.0


@dataclass
class Prepared:
    change_set: ChangeSet
    before_repo: Path | None
    after_repo: Path
    writes: list[Recorded]  # the writes of an uninterrupted apply, in order
    apply_seconds: float  # first request -> last request of an uninterrupted apply


def reconciler_for(repo: Path, target: AwsTarget) -> Reconciler:
    return Reconciler(repo / "routes", repo, target, settings=ENGINE_SETTINGS)


def setup_baseline(sandbox: Sandbox, prepared: Prepared) -> None:
    sandbox.reset()
    if prepared.before_repo is not None:
        report = reconciler_for(prepared.before_repo, sandbox.target).run_pass(dry_run=False)
        assert report.outcome is Outcome.APPLIED, report.errors
        if not prepared.change_set.prune:
            plant_outsiders(sandbox)
    sandbox.recorder.clear()


def prepare(sandbox: Sandbox, change_set: ChangeSet, workdir: Path) -> Prepared:
    """Writes both repos and records the writes of an uninterrupted (in-process) apply."""
    slug = change_set.name.replace(" ", "-").replace("+", "")
    before = (
        write_repo(workdir / f"{slug}-before", **change_set.before) if change_set.before else None
    )
    after = write_repo(workdir / f"{slug}-after", **change_set.after)
    prepared = Prepared(change_set, before, after, [], 0.0)
    setup_baseline(sandbox, prepared)
    started = time.monotonic()
    report = reconciler_for(after, sandbox.target).run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    prepared.writes = sandbox.recorder.writes()
    prepared.apply_seconds = time.monotonic() - started
    assert prepared.writes, f"{change_set.name}: nothing to write"
    return prepared


def kill_label(prepared: Prepared, index: int, strategy: str) -> tuple[str, str]:
    writes = prepared.writes
    w = writes[index]
    phase = phase_of(w)
    nxt = writes[index + 1] if index + 1 < len(writes) else None
    prev = writes[index - 1] if index > 0 else None
    if (
        strategy == "before-write"
        and w.operation == "UpdateDistribution"
        and prev
        and (prev.service, prev.operation) in PUBLISHES
    ):
        phase = "publish->wiring"
    if (
        strategy == "after-write"
        and (w.service, w.operation) in PUBLISHES
        and nxt
        and nxt.operation == "UpdateDistribution"
    ):
        phase = "publish->wiring"
    return phase, f"{strategy} {w.service}.{w.operation} #{index + 1}/{len(writes)}"


def run_trial(
    sandbox: Sandbox, prepared: Prepared, kill: KillPlan, *, timeout: float = 60.0
) -> TrialResult:
    cs = prepared.change_set
    started = time.monotonic()
    setup_baseline(sandbox, prepared)
    before_config = distribution_config(sandbox)
    versions_before = lambda_versions(sandbox)

    proc_box: list[subprocess.Popen[bytes]] = []
    killed = threading.Event()

    def kill_now(_call: WireCall | None = None) -> None:
        proc = proc_box[0]
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            killed.set()
        proc.wait(timeout=10)

    phase, detail = "", ""
    if kill.strategy in ("before-write", "after-write"):
        assert kill.write_index is not None
        target = prepared.writes[kill.write_index]
        earlier = sum(
            1
            for w in prepared.writes[: kill.write_index]
            if (w.service, w.operation) == (target.service, target.operation)
        )
        sandbox.hooks.inject(
            target.service, target.operation, kind="race", action=kill_now, after=earlier, count=1
        )
        if kill.strategy == "before-write":
            sandbox.hooks.inject(
                target.service, target.operation, kind="reset", after=earlier, count=1
            )
        phase, detail = kill_label(prepared, kill.write_index, kill.strategy)

    sandbox.recorder.clear()  # from here on: the killed run, then the recovery
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--log-format",
            "json",
            "apply",
            "--auto-approve",
            "--routes-dir",
            str(prepared.after_repo / "routes"),
            "--root",
            str(prepared.after_repo),
            "--endpoint-url",
            sandbox.server.endpoint_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group: the kill takes any Node child too
    )
    proc_box.append(proc)
    try:
        if kill.strategy == "delay":
            if not sandbox.recorder.first.wait(timeout):
                raise AssertionError("the reconciler sent no request")
            if not _wait_exit(proc, kill.delay):
                seen = sandbox.recorder.writes()
                kill_now()
                last = seen[-1] if seen else None
                phase = phase_of(last) if last else "plan (no write yet)"
                if len(seen) >= len(prepared.writes):
                    phase = "after the last write"
                elif (
                    last
                    and (last.service, last.operation) in PUBLISHES
                    and prepared.writes[len(seen)].operation == "UpdateDistribution"
                ):
                    phase = "publish->wiring"
                detail = f"delay {kill.delay:.2f}s after {len(seen)} writes"
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    if not killed.is_set():
        phase, detail = "finished before the kill", f"{kill.strategy}: exit {proc.returncode}"
    sandbox.clear_faults()

    recovery = reconciler_for(prepared.after_repo, sandbox.target).run_pass(dry_run=False)
    violations = check_invariants(
        sandbox, prepared, recovery.outcome, recovery.errors, before_config, versions_before
    )
    return TrialResult(
        cs.name,
        kill.strategy,
        phase,
        detail,
        killed.is_set(),
        recovery.outcome.value,
        violations,
        time.monotonic() - started,
    )


def _wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def check_invariants(
    sandbox: Sandbox,
    prepared: Prepared,
    outcome: Outcome,
    errors: tuple[str, ...],
    before_config: dict[str, Any],
    versions_before: int,
) -> list[str]:
    cs = prepared.change_set
    problems: list[str] = []
    if outcome not in (Outcome.APPLIED, Outcome.NO_CHANGES):
        problems.append(f"recovery pass {outcome.value}: {errors}")
    second = reconciler_for(prepared.after_repo, sandbox.target).run_pass(dry_run=True)
    if second.outcome is not Outcome.NO_CHANGES:
        shown = [str(c.address) for c in (second.plan.changes if second.plan else ())][:5]
        problems.append(f"second plan not empty: {second.outcome.value} {shown} {second.errors}")

    route_set = load_route_set(prepared.after_repo / "routes", prepared.after_repo)
    data = desired_data(route_set)
    adapters = Adapters.for_target(sandbox.target)
    (store,) = data.stores
    (table,) = data.tables
    live_store = adapters.kvs.observe(STORE).entries
    wrong = [k for k, v in store.entries.items() if live_store.get(k) != v]
    if wrong:
        problems.append(f"{len(wrong)} declared keys missing or wrong, e.g. {wrong[:3]}")
    live_table = adapters.tables.observe(TABLE).items
    wrong_items = [k for k, v in table.items.items() if live_table.get(k) != canonical_item(v)]
    if wrong_items:
        problems.append(
            f"{len(wrong_items)} declared items missing or wrong, e.g. {wrong_items[:3]}"
        )

    keys, items = deleted_keys(sandbox.recorder.calls)
    declared_items = {
        (k[0], k[1])
        for k in ((str(i["tenantId"]["S"]), str(i["accountId"]["S"])) for i in table.items.values())
    }
    if keys & set(store.entries):
        problems.append(f"delete sent for declared keys {sorted(keys & set(store.entries))[:5]}")
    if items & declared_items:
        problems.append(f"delete sent for declared items {sorted(items & declared_items)[:5]}")

    if cs.prune:
        if cs.before is not None:
            expected = set(prepared_before_keys(prepared)) - set(store.entries)
            if set(live_store) & expected:
                problems.append("undeclared keys survived the prune")
    elif cs.before is not None:
        if live_store.get(OUTSIDER_KEY) != OUTSIDER_VALUE or OUTSIDER_KEY in keys:
            problems.append("the undeclared key was touched with prune off")
        outsider = item_key(canonical_item(OUTSIDER_ITEM), table.key_schema)
        if (
            live_table.get(outsider) != canonical_item(OUTSIDER_ITEM)
            or ("outsider", "9999") in items
        ):
            problems.append("the undeclared item was touched with prune off")

    after_config = distribution_config(sandbox)
    if not_owned(after_config) != not_owned(before_config):
        problems.append("distribution changed outside the owned fields")
    published = lambda_versions(sandbox) - versions_before
    if published != cs.lambda_code_changes:
        problems.append(f"{published} Lambda versions published, expected {cs.lambda_code_changes}")
    return problems


def prepared_before_keys(prepared: Prepared) -> list[str]:
    assert prepared.before_repo is not None
    rs = load_route_set(prepared.before_repo / "routes", prepared.before_repo)
    (store,) = desired_data(rs).stores
    return list(store.entries)


# --- a campaign ---------------------------------------------------------------------------


def kill_plans(prepared: Prepared, n: int, rng: random.Random) -> list[KillPlan]:
    """n kill points spread over the strategies; write indexes cover the whole sequence."""
    plans = []
    count = len(prepared.writes)
    for i in range(n):
        strategy = STRATEGIES[i % len(STRATEGIES)]
        if strategy == "delay":
            plans.append(KillPlan(strategy, delay=rng.uniform(0.0, prepared.apply_seconds * 1.3)))
        else:
            plans.append(KillPlan(strategy, write_index=rng.randrange(count)))
    return plans


def campaign(
    server: SandboxServer,
    workdir: Path,
    trials_per_set: int,
    seed_value: int,
    change_sets: tuple[ChangeSet, ...] = CHANGE_SETS,
    on_result: Callable[[TrialResult], None] | None = None,
) -> list[TrialResult]:
    sandbox = Sandbox(server)
    rng = random.Random(seed_value)
    results = []
    for cs in change_sets:
        prepared = prepare(sandbox, cs, workdir)
        for plan in kill_plans(prepared, trials_per_set, rng):
            result = run_trial(sandbox, prepared, plan)
            results.append(result)
            if on_result:
                on_result(result)
    return results
