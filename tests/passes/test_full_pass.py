"""Whole passes over the example routes against the emulated AWS, counted on the wire."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.core.model import Action, ResourceKind
from reconciler.engine import Outcome, Reconciler
from tests.data import wire

TENANT_EVENT = "origin-request"


def _distribution(aws):  # type: ignore[no-untyped-def]
    cf = aws.client("cloudfront")
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    return cf.get_distribution_config(Id=summary["Id"])


def _writes(aws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        f"{service}.{op}": n
        for service, ops in wire.calls(aws.endpoint_url).items()
        for op, n in ops.items()
        if op in wire.WRITE_OPERATIONS.get(service, set())
        or op in {"CreateFunction", "PublishVersion", "UpdateFunctionCode", "UpdateFunctionConfiguration", "DeleteFunction"}
    }


def test_from_empty_one_apply_builds_the_seed_setup_and_a_second_writes_nothing(aws, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    before = _distribution(aws)["DistributionConfig"]
    dry = reconciler.run_pass(dry_run=True)
    assert dry.outcome is Outcome.PLANNED and dry.write_calls == 0
    wire.reset_calls(aws.endpoint_url)
    assert _writes(aws) == {}

    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert _writes(aws) == {
        "cloudfront.CreateKeyValueStore": 1,
        "cloudfront-keyvaluestore.UpdateKeys": 1,
        "dynamodb.CreateTable": 1,
        "dynamodb.BatchWriteItem": 1,
        "cloudfront.CreateFunction": 1,
        "cloudfront.PublishFunction": 1,
        "lambda.CreateFunction": 1,
        "lambda.PublishVersion": 1,
        "cloudfront.UpdateDistribution": 1,
    }
    config = _distribution(aws)["DistributionConfig"]
    default = config["DefaultCacheBehavior"]
    (fa,) = default["FunctionAssociations"]["Items"]
    assert fa["EventType"] == "viewer-request" and fa["FunctionARN"].endswith(":function/tier-router")
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    (la,) = tenant["LambdaFunctionAssociations"]["Items"]
    assert la["LambdaFunctionARN"].endswith(":function:tenant-router:1") and la["IncludeBody"] is True
    assert la["EventType"] == TENANT_EVENT
    assert tenant["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    # Nothing outside the owned fields moved.
    assert config["Origins"] == before["Origins"] and config["Comment"] == before["Comment"]

    wire.reset_calls(aws.endpoint_url)
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.NO_CHANGES and again.write_calls == 0
    assert _writes(aws) == {}


def test_editing_the_lambda_publishes_one_version_and_rewires_in_the_same_pass(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    handler = repo / "edge_functions/tenant_router/index.mjs"
    handler.write_text(handler.read_text() + "\n// a harmless edit\n")

    plan = reconciler.run_pass(dry_run=True).plan
    assert plan is not None
    shown = {(c.address.kind, c.action) for c in plan.changes}
    assert shown == {
        (ResourceKind.LAMBDA_FUNCTION, Action.UPDATE),
        (ResourceKind.LAMBDA_FUNCTION, Action.PUBLISH),
        (ResourceKind.DISTRIBUTION_BEHAVIOR, Action.UPDATE),
    }
    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert _writes(aws) == {
        "lambda.UpdateFunctionCode": 1,
        "lambda.PublishVersion": 1,
        "cloudfront.UpdateDistribution": 1,
    }
    config = _distribution(aws)["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    assert tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"].endswith(":2")
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.NO_CHANGES


def test_editing_a_tier_and_the_cloudfront_function(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    reconciler.run_pass(dry_run=False)
    tiers = repo / "routes/tiers.yaml"
    tiers.write_text(tiers.read_text().replace("premium: premium-api.example.com", "premium: gold-api.example.com"))
    code = repo / "edge_functions/tier_router/index.js"
    code.write_text(code.read_text() + "\n// edited\n")
    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert _writes(aws) == {
        "cloudfront-keyvaluestore.UpdateKeys": 1,
        "cloudfront.UpdateFunction": 1,
        "cloudfront.PublishFunction": 1,
    }
    kvs = aws.client("cloudfront-keyvaluestore")
    arn = aws.client("cloudfront").describe_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    assert kvs.get_key(KvsARN=arn, Key="premium")["Value"] == "gold-api.example.com"


def test_a_failing_function_test_publishes_nothing(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    reconciler.run_pass(dry_run=False)
    code = repo / "edge_functions/tier_router/index.js"
    # Routes premium to the wrong origin: the shipped test events must catch it.
    code.write_text(code.read_text().replace("domainName:", "domainName: 'wrong.example.com' ||", 1))
    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.FAILED and report.error_class == "fatal"
    assert any("tests failed, not published" in e for e in report.errors), report.errors
    assert wire.count(aws.endpoint_url, "cloudfront", "PublishFunction") == 0


def test_invalid_route_files_change_nothing(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    tiers = repo / "routes/tiers.yaml"
    tiers.write_text(tiers.read_text().replace("standard: standard-api.example.com", "standard: https://evil.test"))
    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.INVALID
    assert any(e.startswith("routes/tiers.yaml:") and "spec.entries.standard" in e for e in report.errors), report.errors
    assert _writes(aws) == {}
    assert wire.calls(aws.endpoint_url) == {}, "an invalid set is not even observed"


def test_missing_behaviour_path_is_refused_with_nothing_applied(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    dist = repo / "routes/distribution.yaml"
    dist.write_text(dist.read_text().replace("path: /tenant/*", "path: /tenants/*"))
    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.REFUSED
    assert any("/tenants/*" in e for e in report.errors), report.errors
    assert _writes(aws) == {}


def test_cli_plan_exit_codes_and_saved_plan(aws, repo: Path, seeded, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from reconciler.cli import apply as apply_cmd
    from reconciler.cli import plan as plan_cmd

    args = ["--routes", str(repo / "routes"), "--endpoint-url", aws.endpoint_url]
    saved = tmp_path / "plan.json"
    runner = CliRunner()
    result = runner.invoke(plan_cmd.command, [*args, "--format", "json", "--out", str(saved)])
    assert result.exit_code == 2, result.output
    assert json.loads(saved.read_text())["summary"]["publish"] == 2

    applied = runner.invoke(apply_cmd.command, [*args, str(saved), "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    assert runner.invoke(plan_cmd.command, args).exit_code == 0
    stale = runner.invoke(apply_cmd.command, [*args, str(saved), "--auto-approve"])
    assert stale.exit_code == 1 and "saved plan is stale" in stale.output


def test_reverting_the_lambda_rewires_the_older_version_without_publishing(aws, repo: Path, reconciler: Reconciler) -> None:  # type: ignore[no-untyped-def]
    """Roll back = revert the commit: the version that has the declared code is wired again."""
    reconciler.run_pass(dry_run=False)
    handler = repo / "edge_functions/tenant_router/index.mjs"
    original = handler.read_text()
    handler.write_text(original + "\n// v2\n")
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    handler.write_text(original)

    wire.reset_calls(aws.endpoint_url)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert wire.count(aws.endpoint_url, "lambda", "PublishVersion") == 0
    config = _distribution(aws)["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    assert tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"].endswith(":1")
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.NO_CHANGES

    # Drift: someone wires the newest version (v2) by hand. Nothing about the function
    # changed, so the correction must come from the plan's choice (v1), not "the newest".
    cf = aws.client("cloudfront")
    current = _distribution(aws)
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    drifted = current["DistributionConfig"]
    (tenant,) = [b for b in drifted["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    item = tenant["LambdaFunctionAssociations"]["Items"][0]
    item["LambdaFunctionARN"] = item["LambdaFunctionARN"][: -len("1")] + "2"
    cf.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=drifted)
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    config = _distribution(aws)["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    assert tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"].endswith(":1")
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.NO_CHANGES
