"""The cache never hides anything (issue 18, item 4): random sequences of route edits,
outside writes, targeted and full passes and restarts, against the sandbox. Before every
full pass, the incremental engine's plan must equal the plan of an engine that has never
seen the account; after it, live state equals the route files; after a targeted pass,
every item and key the edit touched is live."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.engine import Outcome, Reconciler, Scope
from tests.support.routes import tenants, write_policy, write_store, write_table

TABLE, STORE = "tenants", "tiers"
GUARD = {"maxDeleteFraction": 1.0, "allowEmpty": True}

edit = st.tuples(st.just("edit"), st.integers(0, 11), st.sampled_from(["a", "b", "c"]))
drop = st.tuples(st.just("drop"), st.integers(0, 11), st.just(""))
key_edit = st.tuples(st.just("key"), st.integers(0, 3), st.sampled_from(["a", "b"]))
outside = st.tuples(st.just("outside"), st.integers(0, 14), st.sampled_from(["x", "y"]))
outside_key = st.tuples(st.just("outside-key"), st.integers(0, 4), st.sampled_from(["x", "y"]))
outside_delete = st.tuples(st.just("outside-delete"), st.integers(0, 11), st.just(""))
passes = st.tuples(st.sampled_from(["changed", "full", "restart"]), st.just(0), st.just(""))
steps = st.lists(
    st.one_of(edit, drop, key_edit, outside, outside_key, outside_delete, passes),
    min_size=3,
    max_size=9,
)


class World:
    def __init__(self, aws: Any, root: Path) -> None:
        self.aws, self.root = aws, root
        self.routes = root / "routes"
        self.rows = {r["tenantId"]: r for r in tenants(10)}
        self.entries = {f"k{i}": f"{i}.example.com" for i in range(4)}
        write_policy(self.routes, guard=GUARD)
        self.write()
        self.engine = self.new_engine()
        self.touched: set[str] = set()

    def new_engine(self) -> Reconciler:
        return Reconciler(self.routes, self.root, self.aws.target)

    def write(self) -> None:
        write_table(self.routes, TABLE, list(self.rows.values()), guard=GUARD)
        write_store(self.routes, STORE, self.entries, guard=GUARD)

    def step(self, kind: str, n: int, value: str) -> None:
        ddb = self.aws.client("dynamodb")
        tenant = f"t{n:05d}"
        if kind == "edit":
            row = self.rows.setdefault(
                tenant, {"tenantId": tenant, "accountId": str(1000 + n), "defaultBackend": ""}
            )
            row["defaultBackend"] = f"{value}.example.com"
            self.touched.add(tenant)
            self.write()
        elif kind == "drop":
            if self.rows.pop(tenant, None) is not None:
                self.touched.add(tenant)
                self.write()
        elif kind == "key":
            self.entries[f"k{n}"] = f"{value}.example.com"
            self.write()
        elif kind == "outside":
            ddb.put_item(
                TableName=TABLE,
                Item={
                    "tenantId": {"S": tenant},
                    "accountId": {"S": str(1000 + n)},
                    "defaultBackend": {"S": f"{value}.example.com"},
                },
            )
        elif kind == "outside-delete":
            ddb.delete_item(
                TableName=TABLE, Key={"tenantId": {"S": tenant}, "accountId": {"S": str(1000 + n)}}
            )
        elif kind == "outside-key":
            cf, kvs = self.aws.client("cloudfront"), self.aws.client("cloudfront-keyvaluestore")
            arn = cf.describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"]
            etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
            kvs.put_key(KvsARN=arn, Key=f"k{n}", Value=f"{value}.example.com", IfMatch=etag)
        elif kind == "restart":
            self.engine = self.new_engine()
        elif kind == "changed":
            report = self.engine.run_pass(scope=Scope.CHANGED)
            assert report.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES), report.errors
            self.check_touched_live()
        else:
            self.full_pass()

    def full_pass(self) -> None:
        cached = self.engine.run_pass(dry_run=True)
        fresh = self.new_engine().run_pass(dry_run=True)
        assert cached.plan is not None and fresh.plan is not None
        assert _changes(cached.plan) == _changes(fresh.plan)
        report = self.engine.run_pass()
        assert report.outcome in (Outcome.APPLIED, Outcome.NO_CHANGES), report.errors
        assert self.new_engine().run_pass(dry_run=True).outcome is Outcome.NO_CHANGES

    def check_touched_live(self) -> None:
        ddb = self.aws.client("dynamodb")
        for tenant in self.touched:
            n = int(tenant[1:])
            got = ddb.get_item(
                TableName=TABLE, Key={"tenantId": {"S": tenant}, "accountId": {"S": str(1000 + n)}}
            ).get("Item")
            want = self.rows.get(tenant)
            if want is None:
                assert got is None, tenant
            else:
                assert got is not None and got["defaultBackend"]["S"] == want["defaultBackend"]
        self.touched.clear()


def _changes(plan: Any) -> set[tuple[str, str, str]]:
    return {(str(c.address), c.action.value, repr(c.after)) for c in plan.changes}


@settings(
    max_examples=int(__import__("os").environ.get("INCREMENTAL_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
def test_incremental_passes_never_hide_a_change(aws: Any, history: list[tuple[str, int, str]]) -> None:
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    ).read()
    root = Path(tempfile.mkdtemp(prefix="incremental-"))
    try:
        world = World(aws, root)
        world.full_pass()
        world.full_pass()  # the table it created is read in full once
        for kind, n, value in history:
            world.step(kind, n, value)
        world.full_pass()
    finally:
        shutil.rmtree(root, ignore_errors=True)
