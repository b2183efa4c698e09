"""Plan and apply routing data against the emulated AWS, counting calls on the wire."""

from __future__ import annotations

import pytest
from reconciler.reconcile import Adapters, apply, plan

from reconciler.aws.clients import AwsTarget
from reconciler.aws.errors import ReconcileError
from reconciler.core.attribute_values import item_from_python
from reconciler.core.model import Action
from reconciler.core.state import (
    DesiredData,
    DesiredStore,
    DesiredTable,
    KeyAttribute,
    KeySchema,
    PruneGuard,
    item_key,
)
from tests.data import wire

SCHEMA = KeySchema(KeyAttribute("tenantId"), KeyAttribute("accountId"))


def tiers(n: int, value: str = "tier{}.example.com") -> dict[str, str]:
    return {f"tier{i:03d}": value.format(i) for i in range(n)}


def data(entries: dict[str, str], prune: bool = True, guard: PruneGuard | None = None) -> DesiredData:
    return DesiredData(stores=(DesiredStore("tier-origins", entries, prune),), guard=guard or PruneGuard())


def table(rows: int, prune: bool = True, backend: str = "b{}.example.com") -> DesiredData:
    items = {}
    for i in range(rows):
        item = item_from_python(
            {"tenantId": f"t{i:05d}", "accountId": str(1000 + i), "defaultBackend": backend.format(i % 7)}
        )
        items[item_key(item, SCHEMA)] = item
    return DesiredData(tables=(DesiredTable("tenant-routing", SCHEMA, items, prune),))


@pytest.fixture
def adapters(aws) -> Adapters:  # type: ignore[no-untyped-def]
    return Adapters.for_target(AwsTarget(endpoint_url=aws.endpoint_url))


def converged(desired: DesiredData, adapters: Adapters, endpoint: str) -> None:
    """A second plan is empty, and a converged apply makes zero write calls on the wire."""
    assert plan(desired, adapters)[0].empty
    wire.reset_calls(endpoint)
    outcome = apply(desired, adapters)
    assert outcome.plan.empty and outcome.write_calls == 0
    assert wire.write_calls(endpoint) == 0


def test_zero_to_55_keys_crosses_a_batch(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    desired = data(tiers(55))
    wire.reset_calls(aws.endpoint_url)
    outcome = apply(desired, adapters)
    assert len(outcome.applied) == 56  # the store + 55 keys
    assert wire.count(aws.endpoint_url, "cloudfront", "CreateKeyValueStore") == 1
    assert wire.count(aws.endpoint_url, "cloudfront-keyvaluestore", "UpdateKeys") == 2  # ceil(55/50)
    live = adapters.kvs.observe("tier-origins")
    assert dict(live.entries) == tiers(55)
    converged(desired, adapters, aws.endpoint_url)


def test_value_edits_and_prune_on_and_off(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    apply(data(tiers(10)), adapters)
    edited = tiers(10)
    edited["tier003"] = "moved.example.com"
    del edited["tier009"]
    kept = apply(data(edited, prune=False), adapters)
    assert [(c.address.key, c.action) for c in kept.applied] == [("tier003", Action.UPDATE)]
    assert "tier009" in adapters.kvs.observe("tier-origins").entries

    wire.reset_calls(aws.endpoint_url)
    pruned = apply(data(edited, prune=True), adapters)
    assert [(c.address.key, c.action) for c in pruned.applied] == [("tier009", Action.DELETE)]
    assert wire.count(aws.endpoint_url, "cloudfront-keyvaluestore", "UpdateKeys") == 1
    assert dict(adapters.kvs.observe("tier-origins").entries) == edited
    converged(data(edited), adapters, aws.endpoint_url)


def test_prune_guard_trips_then_is_overridden(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    apply(data(tiers(40)), adapters)
    shrunk = data(tiers(10))
    wire.reset_calls(aws.endpoint_url)
    refused = apply(shrunk, adapters)
    assert not refused.plan.applicable and refused.applied == []
    assert "delete 30 of 40 (75%)" in refused.plan.violations[0].message
    assert wire.write_calls(aws.endpoint_url) == 0
    assert len(adapters.kvs.observe("tier-origins").entries) == 40

    allowed = apply(data(tiers(10), guard=PruneGuard(allow_mass_delete=True)), adapters)
    assert sum(c.action is Action.DELETE for c in allowed.applied) == 30
    assert dict(adapters.kvs.observe("tier-origins").entries) == tiers(10)


def test_store_filled_near_5mb(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    # 4,800 keys x ~1,018 bytes = ~4.9 MB, just under the 5 MB store limit.
    entries = {f"k{i:05d}": f"{'x' * 990}{i:05d}.example.com"[-1000:] for i in range(4800)}
    desired = data(entries, prune=False)
    wire.reset_calls(aws.endpoint_url)
    apply(desired, adapters)
    assert wire.count(aws.endpoint_url, "cloudfront-keyvaluestore", "UpdateKeys") == 96  # 4800/50
    assert len(adapters.kvs.observe("tier-origins").entries) == 4800
    converged(desired, adapters, aws.endpoint_url)


def test_table_of_several_thousand_items(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    desired = table(3000)
    wire.reset_calls(aws.endpoint_url)
    outcome = apply(desired, adapters)
    assert len(outcome.applied) == 3001
    assert wire.count(aws.endpoint_url, "dynamodb", "BatchWriteItem") == 120  # 3000/25
    converged(desired, adapters, aws.endpoint_url)

    changed = table(3000, backend="n{}.example.com")  # 6 of 7 backends change
    wire.reset_calls(aws.endpoint_url)
    edit = apply(changed, adapters)
    updates = sum(c.action is Action.UPDATE for c in edit.applied)
    assert wire.count(aws.endpoint_url, "dynamodb", "BatchWriteItem") == -(-updates // 25)
    converged(changed, adapters, aws.endpoint_url)


def test_existing_table_with_other_key_schema_is_an_error(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    aws.client("dynamodb").create_table(
        TableName="tenant-routing",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "tenant", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tenant", "AttributeType": "S"}],
    )
    outcome = apply(table(3), adapters)
    assert outcome.applied == [] and "never recreates tables" in outcome.plan.errors[0].message


def test_throttling_on_30_percent_of_calls_converges(aws) -> None:  # type: ignore[no-untyped-def]
    adapters = Adapters.for_target(AwsTarget(endpoint_url=aws.endpoint_url, max_attempts=10))
    for service in ("cloudfront-keyvaluestore", "dynamodb"):
        wire.inject(aws.endpoint_url, service=service, kind="throttle", probability=0.3, seed=7)
    desired = DesiredData(stores=data(tiers(120)).stores, tables=table(200).tables)
    apply(desired, adapters)
    assert dict(adapters.kvs.observe("tier-origins").entries) == tiers(120)
    assert plan(desired, adapters)[0].empty
    # Throttled writes were retried, never doubled: 3 UpdateKeys and 8 BatchWriteItem succeeded.
    log = wire._call(aws.endpoint_url, "GET", "log")["log"]
    ok_updates = [e for e in log if e["operation"] == "UpdateKeys" and e["status"] == 200]
    assert len(ok_updates) == 3


def test_concurrent_writer_during_apply_replans(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    apply(data(tiers(5)), adapters)
    kvs = aws.client("cloudfront-keyvaluestore")
    arn = adapters.kvs.arn("tier-origins")
    assert arn

    # Another writer changes a declared key and adds an undeclared one right before our write.
    def other_writer() -> None:
        etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
        kvs.update_keys(
            KvsARN=arn,
            IfMatch=etag,
            Puts=[{"Key": "tier000", "Value": "hijack.example.com"}, {"Key": "extra", "Value": "x.example.com"}],
        )

    wanted = tiers(60)
    outcome = _apply_with_race(aws, adapters, data(wanted), other_writer)
    assert outcome.conflicts == 1
    assert dict(adapters.kvs.observe("tier-origins").entries) == wanted  # re-planned, not replayed
    converged(data(wanted), adapters, aws.endpoint_url)


def _apply_with_race(aws, adapters, desired, writer):  # type: ignore[no-untyped-def]
    """Runs `writer` once, between our observation and our first UpdateKeys."""
    real_write = adapters.kvs.write
    fired = []

    def write(arn, batch, etag):  # type: ignore[no-untyped-def]
        if not fired:
            fired.append(True)
            writer()
        return real_write(arn, batch, etag)

    adapters.kvs.write = write
    return apply(desired, adapters)


def test_conflicts_are_bounded(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    apply(data(tiers(2)), adapters)
    kvs = aws.client("cloudfront-keyvaluestore")
    arn = adapters.kvs.arn("tier-origins")
    real_write = adapters.kvs.write

    def always_race(a, batch, etag):  # type: ignore[no-untyped-def]
        current = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
        kvs.put_key(KvsARN=arn, Key="noise", Value="n.example.com", IfMatch=current)
        return real_write(a, batch, etag)

    adapters.kvs.write = always_race
    with pytest.raises(ReconcileError, match="gave up after 3 re-plans"):
        apply(data(tiers(4), prune=False), adapters)


def test_concurrent_writer_on_the_wire_replans(aws, adapters) -> None:  # type: ignore[no-untyped-def]
    """The same race made by the sandbox: another writer lands right before our UpdateKeys."""
    from reconciler.sandbox.hooks import kvs_race

    apply(data(tiers(5)), adapters)
    hooks = aws.server.hooks
    hooks.reset()
    hooks.inject(
        "cloudfront-keyvaluestore",
        "UpdateKeys",
        kind="race",
        count=1,
        action=kvs_race({"tier001": "hijack.example.com", "stray": "s.example.com"}),
    )
    wanted = tiers(8)
    outcome = apply(data(wanted), adapters)
    assert outcome.conflicts == 1
    assert hooks.count("cloudfront-keyvaluestore", "UpdateKeys") == 2  # one 409, one re-planned write
    assert dict(adapters.kvs.observe("tier-origins").entries) == wanted
