"""The engine's long-lived route loader, over the wire against the sandbox (issue 18): an
edit the loader sees is new input (applied, not called drift) even when the file kept
its size, inode and modification time; a file touched without a change is no change
(nothing read, nothing written); drift under an unchanged declaration is still drift."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from reconciler.engine import Outcome, PassReport, Reconciler, Scope
from tests.support.routes import tenants, write_policy, write_store, write_table

TABLE = "tenants"
KEY = {"tenantId": {"S": "t00017"}, "accountId": {"S": "1017"}}


def _applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def _calls(aws: Any) -> dict[str, int]:
    return {
        f"{service}:{op}": n
        for service, ops in aws.server.hooks.calls().items()
        for op, n in ops.items()
    }


def _bulk(routes: Path) -> Path:
    return routes / f"{TABLE}-items" / "items.jsonl"


def _edit_in_place_same_mtime(path: Path, old: bytes, new: bytes) -> None:
    """An editor saving twice within the file system's clock tick: same size, same inode,
    same modification time, other bytes."""
    assert len(old) == len(new)
    before = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    with path.open("r+b") as handle:
        handle.write(data.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_edits_are_new_input_and_touches_are_nothing(aws: Any, tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    write_policy(routes)
    write_store(routes, "tier-origins", {"basic": "basic-api.example.com"})
    rows = tenants(300)
    rows[17]["defaultBackend"] = "aaaa.example.com"
    write_table(routes, TABLE, rows)
    engine = Reconciler(routes, tmp_path, aws.target)
    _applied(engine.run_pass())
    engine.run_pass()  # the pass after a create reads the table in full once
    ddb = aws.client("dynamodb")

    # An edit that only the bytes show, in a pass that applies new input but not drift.
    _edit_in_place_same_mtime(_bulk(routes), b"aaaa.example.com", b"zzzz.example.com")
    report = _applied(engine.run_pass(scope=Scope.CHANGED, heal_drift=False))
    assert [c.address.key for c in report.applied] == ["tenantId=t00017,accountId=1017"]
    assert report.drift == ()
    item = ddb.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]
    assert item["defaultBackend"] == {"S": "zzzz.example.com"}

    # Touched, rewritten with the same bytes: the same declaration, nothing to read.
    os.utime(_bulk(routes))
    _bulk(routes).write_bytes(_bulk(routes).read_bytes())
    aws.server.hooks.reset()
    assert engine.run_pass(scope=Scope.CHANGED).outcome is Outcome.NO_CHANGES
    assert not {k for k in _calls(aws) if k.startswith("dynamodb:")}

    # Someone else writes the item: under the unchanged declaration that is drift.
    ddb.put_item(TableName=TABLE, Item={**KEY, "defaultBackend": {"S": "evil.example.com"}})
    os.utime(_bulk(routes))
    report = engine.run_pass(heal_drift=False)
    assert [d.change.address.key for d in report.drift] == ["tenantId=t00017,accountId=1017"]
    item = ddb.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]
    assert item["defaultBackend"] == {"S": "evil.example.com"}  # reported, not undone
