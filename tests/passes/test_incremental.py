"""Passes that cost O(change): the engine's observation cache, targeted passes and the
DynamoDB Stream, counted on the wire (issue 18)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.engine import Outcome, PassReport, Reconciler, Scope
from tests.support.routes import tenants, write_policy, write_store, write_table

TABLE = "tenants"
READS = {
    "Scan", "BatchGetItem", "GetItem", "DescribeTable", "ListKeys", "DescribeKeyValueStore",
    "GetRecords", "GetShardIterator", "DescribeStream",
}  # fmt: skip


def applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def calls(aws: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for service, ops in aws.server.hooks.calls().items():
        for op, n in ops.items():
            out[f"{service}:{op}"] = out.get(f"{service}:{op}", 0) + n
    return out


def reads(aws: Any) -> dict[str, int]:
    return {k: n for k, n in calls(aws).items() if k.split(":")[1] in READS}


def repo(root: Path, count: int, **table: Any) -> Path:
    routes = root / "routes"
    write_policy(routes)
    write_store(routes, "tier-origins", {"basic": "basic-api.example.com"})
    write_table(routes, TABLE, tenants(count), **table)
    return routes


def edit_one(routes: Path, count: int, index: int, backend: str = "moved.example.com") -> None:
    rows = tenants(count)
    rows[index]["defaultBackend"] = backend
    write_table(routes, TABLE, rows)


def test_a_one_tenant_edit_reads_one_item_whatever_the_table_size(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 600)
    engine = Reconciler(routes, tmp_path, aws.target)
    applied(engine.run_pass())
    engine.run_pass()  # a pass that created the table is followed by a full read of it
    edit_one(routes, 600, 17)
    aws.server.hooks.reset()
    report = applied(engine.run_pass(scope=Scope.CHANGED))
    assert [c.address.key for c in report.applied] == ["tenantId=t00017,accountId=1017"]
    assert reads(aws) == {"dynamodb:BatchGetItem": 1}
    assert calls(aws)["dynamodb:BatchWriteItem"] == 1
    # The next change-triggered pass with nothing new reads nothing at all.
    aws.server.hooks.reset()
    assert engine.run_pass(scope=Scope.CHANGED).outcome is Outcome.NO_CHANGES
    assert reads(aws) == {}


def test_a_converged_resync_of_a_streamed_table_does_not_scan(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 300)
    engine = Reconciler(routes, tmp_path, aws.target)
    applied(engine.run_pass())  # the table is created with a KEYS_ONLY stream
    engine.run_pass()  # catches up with its own writes through the stream
    aws.server.hooks.reset()
    assert engine.run_pass().outcome is Outcome.NO_CHANGES
    observed = reads(aws)
    assert "dynamodb:Scan" not in observed and "dynamodb:BatchGetItem" not in observed
    # (the sandbox counts DynamoDB Streams calls under dynamodb: they sign as dynamodb)
    assert observed == {
        "cloudfront-keyvaluestore:DescribeKeyValueStore": 1,
        "dynamodb:DescribeTable": 1,
        "dynamodb:GetRecords": 1,
    }


def test_an_outside_write_is_found_through_the_stream_and_undone(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 300)
    engine = Reconciler(routes, tmp_path, aws.target)
    applied(engine.run_pass())
    engine.run_pass()
    ddb = aws.client("dynamodb")
    ddb.put_item(
        TableName=TABLE,
        Item={"tenantId": {"S": "t00005"}, "accountId": {"S": "1005"}, "defaultBackend": {"S": "evil.example.com"}},
    )
    ddb.put_item(  # an undeclared item: pruned
        TableName=TABLE,
        Item={"tenantId": {"S": "intruder"}, "accountId": {"S": "1"}, "defaultBackend": {"S": "x.example.com"}},
    )
    aws.server.hooks.reset()
    report = applied(engine.run_pass())
    assert sorted(d.change.address.key for d in report.drift) == [
        "tenantId=intruder,accountId=1",
        "tenantId=t00005,accountId=1005",
    ]
    assert "dynamodb:Scan" not in reads(aws)
    assert reads(aws)["dynamodb:BatchGetItem"] == 1
    item = ddb.get_item(TableName=TABLE, Key={"tenantId": {"S": "t00005"}, "accountId": {"S": "1005"}})
    assert item["Item"]["defaultBackend"]["S"] == "b5.example.com"


def test_without_a_stream_a_resync_scans(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 200, drift_detection="scan")
    engine = Reconciler(routes, tmp_path, aws.target)
    applied(engine.run_pass())
    aws.server.hooks.reset()
    assert engine.run_pass().outcome is Outcome.NO_CHANGES
    assert reads(aws).get("dynamodb:Scan", 0) >= 1
    assert "dynamodb:GetRecords" not in reads(aws)


def test_a_disabled_stream_falls_back_to_a_scan(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 200)
    engine = Reconciler(routes, tmp_path, aws.target)
    applied(engine.run_pass())
    aws.client("dynamodb").update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": False}
    )
    aws.server.hooks.reset()
    assert engine.run_pass().outcome is Outcome.NO_CHANGES
    assert reads(aws).get("dynamodb:Scan", 0) >= 1


def test_drift_detection_stream_enables_a_stream_on_an_adopted_table(aws: Any, tmp_path: Path) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "tenantId", "KeyType": "HASH"}, {"AttributeName": "accountId", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "tenantId", "AttributeType": "S"}, {"AttributeName": "accountId", "AttributeType": "S"}],
    )  # fmt: skip
    routes = repo(tmp_path, 10)
    assert "LatestStreamArn" not in ddb.describe_table(TableName=TABLE)["Table"]
    plain = applied(Reconciler(routes, tmp_path, aws.target).run_pass())
    assert "UpdateTable" not in dict(plain.calls)  # auto: an adopted table is never changed
    write_table(routes, TABLE, tenants(10), drift_detection="stream")
    report = applied(Reconciler(routes, tmp_path, aws.target).run_pass())
    assert dict(report.calls) == {"UpdateTable": 1}
    assert ddb.describe_table(TableName=TABLE)["Table"]["StreamSpecification"]["StreamViewType"] == "KEYS_ONLY"


def test_a_restarted_engine_observes_in_full(aws: Any, tmp_path: Path) -> None:
    routes = repo(tmp_path, 100)
    applied(Reconciler(routes, tmp_path, aws.target).run_pass())
    aws.server.hooks.reset()
    restarted = Reconciler(routes, tmp_path, aws.target)
    assert restarted.run_pass(scope=Scope.CHANGED).outcome is Outcome.NO_CHANGES
    assert reads(aws).get("dynamodb:Scan", 0) >= 1
