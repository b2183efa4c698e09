"""Routing data through the real pass: route files written to disk, `Reconciler.run_pass`,
write calls counted twice, on the sandbox's wire (tests/data/wire.py, over HTTP) and in
what the pass reports its adapters did (`PassReport.calls`), and live state read back
with plain boto3."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.aws.errors import ErrorClass
from reconciler.aws.kvs import KvsAdapter
from reconciler.core.model import Action
from reconciler.core.schedule import KvsWrite
from reconciler.engine import (
    MAX_CONFLICT_REPLANS,
    Adapters,
    EngineSettings,
    Outcome,
    PassReport,
    Reconciler,
)
from tests.data import wire
from tests.support.routes import tenants, write_policy, write_store, write_table

STORE = "tier-origins"
TABLE = "tenant-routing"
KVS = "cloudfront-keyvaluestore"


def tiers(n: int, value: str = "tier{}.example.com") -> dict[str, str]:
    return {f"tier{i:03d}": value.format(i) for i in range(n)}


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    routes = tmp_path / "routes"
    write_policy(routes)
    return routes


def engine(aws: Any, routes: Path, *, max_attempts: int = 1, **kwargs: Any) -> Reconciler:
    target = AwsTarget(endpoint_url=aws.endpoint_url, max_attempts=max_attempts)
    return Reconciler(routes, routes.parent, target, **kwargs)


def calls(report: PassReport) -> dict[str, int]:
    return dict(report.calls)


def applied(report: PassReport) -> list[tuple[str | None, Action]]:
    return [(c.address.key, c.action) for c in report.applied]


def live_entries(aws: Any) -> dict[str, str]:
    arn = aws.client("cloudfront").describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"]
    pages = aws.client(KVS).get_paginator("list_keys").paginate(KvsARN=arn)
    return {item["Key"]: item["Value"] for page in pages for item in page.get("Items", [])}


def live_items(aws: Any) -> dict[tuple[str, str], str]:
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
    return {
        (i["tenantId"]["S"], i["accountId"]["S"]): i["defaultBackend"]["S"]
        for page in pages
        for i in page["Items"]
    }


def declared_items(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(r["tenantId"], r["accountId"]): r["defaultBackend"] for r in rows}


def run(reconciler: Reconciler, endpoint: str, **kwargs: Any) -> PassReport:
    """One pass with the wire's counts reset first."""
    wire.reset_calls(endpoint)
    return reconciler.run_pass(**kwargs)


def assert_converged(aws: Any, routes: Path, reconciler: Reconciler, fresh: bool = True) -> None:
    """The next pass of the same engine writes nothing (report and wire agree), and a fresh
    engine (no adapter cache: the KVS adapter skips ListKeys for an ETag it knows) plans
    nothing either."""
    again = run(reconciler, aws.endpoint_url)
    assert again.outcome is Outcome.NO_CHANGES, (again.outcome, again.errors)
    assert again.calls == () and again.applied == ()
    assert wire.write_calls(aws.endpoint_url) == 0
    if fresh:
        report = engine(aws, routes).run_pass(dry_run=True)
        assert report.outcome is Outcome.NO_CHANGES, report.plan


# -- stores --------------------------------------------------------------------------------


def test_zero_to_55_keys_crosses_a_batch(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(55))
    reconciler = engine(aws, routes)
    report = run(reconciler, aws.endpoint_url)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert len(report.applied) == 56  # the store + 55 keys
    assert calls(report) == {"CreateKeyValueStore": 1, "UpdateKeys": 2}  # ceil(55/50)
    assert wire.count(aws.endpoint_url, "cloudfront", "CreateKeyValueStore") == 1
    assert wire.statuses(aws.endpoint_url, KVS, "UpdateKeys") == [200, 200]
    assert wire.write_calls(aws.endpoint_url) == report.write_calls == 3
    assert live_entries(aws) == tiers(55)
    assert_converged(aws, routes, reconciler)


def test_value_edits_and_prune_on_and_off(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(10))
    reconciler = engine(aws, routes)
    assert reconciler.run_pass().outcome is Outcome.APPLIED
    edited = tiers(10)
    edited["tier003"] = "moved.example.com"
    del edited["tier009"]

    write_store(routes, STORE, edited, prune=False)
    kept = run(reconciler, aws.endpoint_url)
    assert kept.outcome is Outcome.APPLIED, kept.errors
    assert applied(kept) == [("tier003", Action.UPDATE)]
    assert calls(kept) == {"UpdateKeys": 1} and wire.writes(aws.endpoint_url) == {"UpdateKeys": 1}
    assert live_entries(aws) == {**edited, "tier009": "tier9.example.com"}  # prune off: kept
    assert_converged(aws, routes, reconciler)

    write_store(routes, STORE, edited, prune=True)
    pruned = run(reconciler, aws.endpoint_url)
    assert pruned.outcome is Outcome.APPLIED, pruned.errors
    assert applied(pruned) == [("tier009", Action.DELETE)]
    assert calls(pruned) == {"UpdateKeys": 1} and wire.writes(aws.endpoint_url) == {"UpdateKeys": 1}
    assert live_entries(aws) == edited
    assert_converged(aws, routes, reconciler)


def test_prune_guard_trips_then_is_overridden(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(40))
    assert engine(aws, routes).run_pass().outcome is Outcome.APPLIED
    write_store(routes, STORE, tiers(10))

    refused = run(engine(aws, routes), aws.endpoint_url)
    assert refused.outcome is Outcome.REFUSED
    assert refused.plan is not None and not refused.plan.applicable
    assert "delete 30 of 40 (75%)" in refused.plan.violations[0].message
    assert refused.applied == () and refused.calls == ()
    assert wire.write_calls(aws.endpoint_url) == 0
    assert len(live_entries(aws)) == 40

    allowed = engine(aws, routes, settings=EngineSettings(allow_mass_delete=True))
    report = run(allowed, aws.endpoint_url)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert [a for _, a in applied(report)] == [Action.DELETE] * 30
    assert calls(report) == {"UpdateKeys": 1} and wire.writes(aws.endpoint_url) == {"UpdateKeys": 1}
    assert live_entries(aws) == tiers(10)


def _long_entry(i: int) -> tuple[str, str]:
    """A ~497-byte key and a 251-character origin (DNS names stop at 253)."""
    key = f"k{i:05d}-" + "k" * 490
    value = f"{'a' * 60}.{'b' * 60}.{'c' * 60}.v{i:05d}{'d' * 50}.example.com"
    return key, value


def test_store_filled_near_5mb(aws: Any, routes: Path) -> None:
    # 6,500 entries x 748 bytes = 4.86 MB of keys and values, under the 5 MiB store limit.
    entries = dict(_long_entry(i) for i in range(6500))
    size = sum(len(k) + len(v) for k, v in entries.items())
    assert 4_800_000 < size < 5 * 1024 * 1024
    write_store(routes, STORE, entries, prune=False)
    reconciler = engine(aws, routes)
    report = run(reconciler, aws.endpoint_url)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert calls(report) == {"CreateKeyValueStore": 1, "UpdateKeys": 130}  # 6500/50
    assert wire.writes(aws.endpoint_url, ok_only=True) == calls(report)
    assert live_entries(aws) == entries
    assert_converged(aws, routes, reconciler)


# -- tables --------------------------------------------------------------------------------


def test_table_of_several_thousand_items(aws: Any, routes: Path) -> None:
    rows = tenants(3000)
    write_table(routes, TABLE, rows)
    reconciler = engine(aws, routes)
    report = run(reconciler, aws.endpoint_url)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert len(report.applied) == 3001  # the table + 3000 items
    assert calls(report) == {"CreateTable": 1, "BatchWriteItem": 120}  # 3000/25
    assert wire.writes(aws.endpoint_url) == calls(report)
    # Tables have no adapter cache: the same engine's next pass reads the whole table
    # again (moto's Scan of 3,000 items takes ~3 s, hence no extra fresh engine here).
    assert_converged(aws, routes, reconciler, fresh=False)

    # Every 7th tenant moves: 429 updates, ceil(429/25) = 18 batches.
    changed = [
        dict(r, defaultBackend="moved.example.com") if i % 7 == 0 else r for i, r in enumerate(rows)
    ]
    write_table(routes, TABLE, changed)
    edit = run(reconciler, aws.endpoint_url)
    assert edit.outcome is Outcome.APPLIED, edit.errors
    assert {a for _, a in applied(edit)} == {Action.UPDATE} and len(edit.applied) == 429
    assert calls(edit) == {"BatchWriteItem": 18}
    assert wire.writes(aws.endpoint_url) == {"BatchWriteItem": 18}
    assert live_items(aws) == declared_items(changed)
    assert_converged(aws, routes, reconciler, fresh=False)


def test_existing_table_with_other_key_schema_is_a_plan_error(aws: Any, routes: Path) -> None:
    aws.client("dynamodb").create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "tenant", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tenant", "AttributeType": "S"}],
    )
    write_table(routes, TABLE, tenants(3))
    report = run(engine(aws, routes), aws.endpoint_url)
    assert report.outcome is Outcome.REFUSED
    assert report.plan is not None
    assert "never recreates tables" in report.plan.errors[0].message
    assert report.applied == () and report.calls == ()
    assert wire.write_calls(aws.endpoint_url) == 0


# -- faults and other writers --------------------------------------------------------------


def test_throttling_on_30_percent_of_calls_converges(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(120))
    rows = tenants(200)
    write_table(routes, TABLE, rows)
    reconciler = engine(aws, routes, max_attempts=10)
    wire.reset_calls(aws.endpoint_url)
    for service in (KVS, "dynamodb"):
        wire.inject(aws.endpoint_url, service=service, kind="throttle", probability=0.3, seed=7)
    report = reconciler.run_pass()
    assert report.outcome is Outcome.APPLIED, report.errors
    assert sum(f["fired"] for f in wire.faults(aws.endpoint_url)) >= 5  # the faults did hit
    # Throttled writes were retried by botocore, never doubled: each landed once.
    once = {"CreateKeyValueStore": 1, "UpdateKeys": 3, "CreateTable": 1, "BatchWriteItem": 8}
    assert calls(report) == once
    assert wire.writes(aws.endpoint_url, ok_only=True) == once
    again = reconciler.run_pass()  # still throttled: reads through it, writes nothing
    assert again.outcome is Outcome.NO_CHANGES, again.errors
    assert wire.writes(aws.endpoint_url, ok_only=True) == once
    wire.clear_faults(aws.endpoint_url)  # the test's own reads are not retried
    assert live_entries(aws) == tiers(120)
    assert live_items(aws) == declared_items(rows)


class RacedKvs(KvsAdapter):
    """The real KVS adapter, with another writer landing right before each of our
    UpdateKeys (`times` of them): the seam between our read and our write."""

    def __init__(self, target: AwsTarget, other_writer: Any, times: int | None = None) -> None:
        super().__init__(target)
        self.other_writer = other_writer
        self.left = times

    def write(self, arn: str, batch: KvsWrite, etag: str) -> str:
        if self.left is None or self.left > 0:
            self.left = None if self.left is None else self.left - 1
            self.other_writer(arn)
        return super().write(arn, batch, etag)


def raced(aws: Any, routes: Path, other_writer: Any, times: int | None) -> Reconciler:
    target = AwsTarget(endpoint_url=aws.endpoint_url, max_attempts=1)
    adapters = replace(Adapters.for_target(target), kvs=RacedKvs(target, other_writer, times))
    return Reconciler(routes, routes.parent, target, adapters=adapters)


def test_concurrent_writer_during_apply_replans(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(5))
    assert engine(aws, routes).run_pass().outcome is Outcome.APPLIED
    kvs = aws.client(KVS)

    def other_writer(arn: str) -> None:
        """Changes a declared key and adds an undeclared one (its own UpdateKeys)."""
        etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
        kvs.update_keys(
            KvsARN=arn,
            IfMatch=etag,
            Puts=[
                {"Key": "tier000", "Value": "hijack.example.com"},
                {"Key": "extra", "Value": "x.example.com"},
            ],
        )

    wanted = tiers(60)
    write_store(routes, STORE, wanted)
    report = run(raced(aws, routes, other_writer, times=1), aws.endpoint_url)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert report.conflicts == 1
    # Theirs lands; our first batch is refused (409); the re-plan (55 new keys, tier000
    # back, extra pruned: 57 changes) goes out in 2 batches.
    assert wire.statuses(aws.endpoint_url, KVS, "UpdateKeys") == [200, 409, 200, 200]
    assert calls(report) == {"UpdateKeys": 2}
    assert len(report.applied) == 57
    assert ("tier000", Action.UPDATE) in applied(report) and ("extra", Action.DELETE) in applied(
        report
    )
    assert live_entries(aws) == wanted  # re-planned, not replayed
    assert_converged(aws, routes, engine(aws, routes))


def test_conflicts_are_bounded(aws: Any, routes: Path) -> None:
    write_store(routes, STORE, tiers(2), prune=False)
    assert engine(aws, routes).run_pass().outcome is Outcome.APPLIED
    kvs = aws.client(KVS)

    def always_race(arn: str) -> None:
        current = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
        kvs.put_key(KvsARN=arn, Key="noise", Value="n.example.com", IfMatch=current)

    write_store(routes, STORE, tiers(4), prune=False)
    report = run(raced(aws, routes, always_race, times=None), aws.endpoint_url)
    assert report.outcome is Outcome.FAILED
    assert report.error_class is ErrorClass.CONFLICT
    assert f"gave up after {MAX_CONFLICT_REPLANS} re-plans" in report.errors[0]
    # Exactly 1 + MAX_CONFLICT_REPLANS attempts of ours, every one refused, each after theirs.
    attempts = 1 + MAX_CONFLICT_REPLANS
    assert wire.statuses(aws.endpoint_url, KVS, "UpdateKeys") == [409] * attempts
    assert wire.statuses(aws.endpoint_url, KVS, "PutKey") == [200] * attempts
    assert report.conflicts == attempts
    assert report.calls == () and report.applied == ()  # nothing of ours landed
    assert live_entries(aws) == {**tiers(2), "noise": "n.example.com"}


def test_concurrent_writer_on_the_wire_replans(aws: Any, routes: Path) -> None:
    """The same race made by the sandbox (its HTTP fault API): another writer's change lands
    right before our UpdateKeys is served."""
    write_store(routes, STORE, tiers(5))
    reconciler = engine(aws, routes)
    assert reconciler.run_pass().outcome is Outcome.APPLIED
    wire.reset_calls(aws.endpoint_url)
    wire.inject(
        aws.endpoint_url,
        service=KVS,
        operation="UpdateKeys",
        kind="race",
        count=1,
        race={"kvs_puts": {"tier001": "hijack.example.com", "stray": "s.example.com"}},
    )
    wanted = tiers(8)
    write_store(routes, STORE, wanted)
    report = reconciler.run_pass()
    assert report.outcome is Outcome.APPLIED, report.errors
    assert report.conflicts == 1
    assert wire.statuses(aws.endpoint_url, KVS, "UpdateKeys") == [409, 200]  # refused, re-planned
    assert calls(report) == {"UpdateKeys": 1}  # 3 new keys, tier001 back, stray pruned: 1 batch
    assert sorted(applied(report), key=str) == sorted(
        [(f"tier00{i}", Action.CREATE) for i in (5, 6, 7)]
        + [("tier001", Action.UPDATE), ("stray", Action.DELETE)],
        key=str,
    )
    assert live_entries(aws) == wanted
    assert_converged(aws, routes, reconciler)


def test_conflicts_are_bounded_on_the_wire(aws: Any, routes: Path) -> None:
    """The bound again with the sandbox racing every UpdateKeys (its HTTP fault API)."""
    write_store(routes, STORE, tiers(2), prune=False)
    reconciler = engine(aws, routes)
    assert reconciler.run_pass().outcome is Outcome.APPLIED
    wire.reset_calls(aws.endpoint_url)
    wire.inject(
        aws.endpoint_url,
        service=KVS,
        operation="UpdateKeys",
        kind="race",
        race={"kvs_puts": {"noise": "n.example.com"}},
    )
    write_store(routes, STORE, tiers(4), prune=False)
    report = reconciler.run_pass()
    assert report.outcome is Outcome.FAILED
    assert report.error_class is ErrorClass.CONFLICT and report.reason == "ConflictException"
    attempts = 1 + MAX_CONFLICT_REPLANS
    assert wire.statuses(aws.endpoint_url, KVS, "UpdateKeys") == [409] * attempts
    assert report.conflicts == attempts and report.calls == ()
    wire.clear_faults(aws.endpoint_url)
    assert live_entries(aws) == {**tiers(2), "noise": "n.example.com"}
