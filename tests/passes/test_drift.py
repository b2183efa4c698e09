"""Drift, new input and the reconciler's own attempts, told apart by the ledger
(reconciler/engine/ledger.py), over the wire against the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.aws.errors import ErrorClass
from reconciler.core.model import Action, ResourceKind
from reconciler.engine import FileLedger, Outcome, PassReport, Reconciler
from tests.support.routes import (
    tenants,
    write_cloudfront_function,
    write_policy,
    write_store,
    write_table,
)

ENTRIES = {"basic": "basic-api.example.com", "premium": "premium-api.example.com"}
EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}


def applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def data_repo(root: Path) -> Path:
    routes = root / "routes"
    write_policy(routes)
    write_store(routes, "tier-origins", ENTRIES)
    write_table(routes, "tenants", tenants(3))
    return routes


def put_key(aws: Any, key: str, value: str) -> None:
    """Someone writes the store by hand (the console, a script)."""
    cf, kvs = aws.client("cloudfront"), aws.client("cloudfront-keyvaluestore")
    arn = cf.describe_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    kvs.put_key(KvsARN=arn, Key=key, Value=value, IfMatch=etag)


def test_a_hand_edit_is_drift_with_the_value_found_and_the_value_restored(
    aws: Any, tmp_path: Path
) -> None:
    reconciler = Reconciler(data_repo(tmp_path), tmp_path, aws.target)
    applied(reconciler.run_pass())
    put_key(aws, "premium", "hotfix.example.com")
    report = applied(reconciler.run_pass())
    (drift,) = report.drift
    assert drift.as_dict() == {
        "address": "kvs_entry.tier-origins['premium']",
        "action": "update",
        "found": "hotfix.example.com",
        "declared": "premium-api.example.com",
        "corrected": True,
    }


def test_new_route_files_are_not_drift(aws: Any, tmp_path: Path) -> None:
    routes = data_repo(tmp_path)
    reconciler = Reconciler(routes, tmp_path, aws.target)
    applied(reconciler.run_pass())
    write_store(routes, "tier-origins", {**ENTRIES, "premium": "gold-api.example.com"})
    assert applied(reconciler.run_pass()).drift == ()


def test_drift_made_while_the_daemon_was_down_is_drift_after_a_restart(
    aws: Any, tmp_path: Path
) -> None:
    routes = data_repo(tmp_path)
    ledger = tmp_path / "state" / "ledger.json"
    ledger.parent.mkdir()
    applied(Reconciler(routes, tmp_path, aws.target, ledger=FileLedger(ledger)).run_pass())
    put_key(aws, "basic", "hotfix.example.com")
    restarted = Reconciler(routes, tmp_path, aws.target, ledger=FileLedger(ledger))
    report = applied(restarted.run_pass())
    assert [d.as_dict()["found"] for d in report.drift] == ["hotfix.example.com"]


def test_without_self_heal_new_input_is_applied_and_drift_is_left_and_reported(
    aws: Any, tmp_path: Path
) -> None:
    """Per container: the store drifted (reported, not undone); the table's route file
    changed in the same pass (applied)."""
    routes = data_repo(tmp_path)
    reconciler = Reconciler(routes, tmp_path, aws.target)
    applied(reconciler.run_pass())
    put_key(aws, "basic", "hotfix.example.com")
    write_table(routes, "tenants", tenants(4))
    report = applied(reconciler.run_pass(heal_drift=False))
    assert [c.address.kind for c in report.applied] == [ResourceKind.TABLE_ITEM]
    (drift,) = report.drift
    assert not drift.corrected and drift.change.address.key == "basic"
    cf, kvs = aws.client("cloudfront"), aws.client("cloudfront-keyvaluestore")
    arn = cf.describe_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    assert kvs.get_key(KvsARN=arn, Key="basic")["Value"] == "hotfix.example.com"
    # Still drift next time (nothing new), still left alone.
    again = reconciler.run_pass(heal_drift=False)
    assert again.outcome is Outcome.NO_CHANGES and len(again.drift) == 1


def function_repo(root: Path, code: str) -> None:
    folder = root / "edge_functions" / "fn"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "index.js").write_text(code)
    case = {"name": "only-case", "event": EVENT, "expect": {"request": {"uri": "/"}}}
    (folder / "tests" / "01.json").write_text(json.dumps(case))
    write_cloudfront_function(root / "routes", "fn", "edge_functions/fn/index.js")


GOOD = "function handler(event) { return event.request; }\n"
# Passes its offline test; TestFunction measures it far over the compute limit.
SPINNER = (
    "function handler(event) {\n  var x = 0;\n  for (var i = 0; i < 3000000; i++) { x += i % 7; }\n"
    "  event.request.headers['x-spin'] = {value: String(x)};\n  return event.request;\n}\n"
)


def test_a_rejected_candidate_and_its_revert_are_not_drift(
    aws: Any, tmp_path: Path
) -> None:
    """Issue 14.4: the gate rejected a commit after DEVELOPMENT was written; the revert
    puts DEVELOPMENT back. Nobody touched AWS: no drift, and the rejection is recorded."""
    function_repo(tmp_path, GOOD)
    reconciler = Reconciler(tmp_path / "routes", tmp_path, aws.target)
    applied(reconciler.run_pass())

    function_repo(tmp_path, SPINNER)
    rejected = reconciler.run_pass()
    assert rejected.outcome is Outcome.FAILED and rejected.error_class is ErrorClass.FATAL
    assert rejected.reason == "FunctionTestFailed" and rejected.rejected[0].function == "fn"
    assert rejected.drift == ()

    function_repo(tmp_path, GOOD)  # git revert
    reverted = applied(reconciler.run_pass())
    assert [c.action for c in reverted.applied] == [Action.UPDATE]  # DEVELOPMENT back, no publish
    assert reverted.drift == ()

    # A console hotfix, by contrast, is drift: found and restored values are named.
    cf = aws.client("cloudfront")
    etag = cf.describe_function(Name="fn", Stage="DEVELOPMENT")["ETag"]
    moved = cf.update_function(
        Name="fn", IfMatch=etag, FunctionCode=b"function handler(e) { return e.request; } // hotfix",
        FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"},
    )["ETag"]  # fmt: skip
    cf.publish_function(Name="fn", IfMatch=moved)
    healed = applied(reconciler.run_pass())
    assert {d.change.action for d in healed.drift} == {Action.UPDATE, Action.PUBLISH}
    update = next(d for d in healed.drift if d.change.action is Action.UPDATE)
    assert update.as_dict()["found"]["code"] != update.as_dict()["declared"]["code"]
