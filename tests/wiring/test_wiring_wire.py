"""Distribution wiring through the real pass, against the sandbox's seeded distribution.

UpdateDistribution calls are counted on the wire (the sandbox's hooks: every call the
server received, rejected ones included) and in the pass report (what landed).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.aws.errors import ErrorClass
from reconciler.core.model import Action, ResourceKind
from reconciler.core.wiring import LEGACY_CACHE_FIELDS
from reconciler.engine import MAX_CONFLICT_REPLANS, Adapters, Outcome, PassReport, Reconciler
from reconciler.sandbox.seed import DISTRIBUTION_COMMENT
from tests.wiring.conftest import write_tenant_function, write_tier_function

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
FUNCTION_ARN = "arn:aws:cloudfront::123456789012:function/tier-router"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:{}"
OWNED: tuple[str, ...] = ("FunctionAssociations", "LambdaFunctionAssociations", "CachePolicyId")
OWNED += ("OriginRequestPolicyId", *LEGACY_CACHE_FIELDS)


class Dist:
    """The seeded distribution, read and written by a test-side client (the other writer)."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self.cf = aws.client("cloudfront")
        (summary,) = self.cf.list_distributions()["DistributionList"]["Items"]
        self.id = str(summary["Id"])

    def config(self) -> tuple[dict[str, Any], str]:
        resp = self.cf.get_distribution_config(Id=self.id)
        return resp["DistributionConfig"], resp["ETag"]

    def edit(self, change: Callable[[dict[str, Any]], None]) -> None:
        config, etag = self.config()
        change(config)
        self.cf.update_distribution(Id=self.id, IfMatch=etag, DistributionConfig=config)

    def set_comment_on_origin(self, text: str) -> None:
        """A field the reconciler does not own (Terraform's, a person's)."""

        def change(config: dict[str, Any]) -> None:
            config["Origins"]["Items"][0]["OriginPath"] = text

        self.edit(change)

    def updates(self) -> int:
        return int(self.aws.server.hooks.count("cloudfront", "UpdateDistribution"))


def behaviours(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {"default": config["DefaultCacheBehavior"]}
    found.update({b["PathPattern"]: b for b in config["CacheBehaviors"].get("Items") or []})
    return found


def without_owned(config: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    for path, raw in behaviours(out).items():
        if path in ("default", "/tenant/*"):
            for name in OWNED:
                raw.pop(name, None)
    return out


def engine(root: Path, target: AwsTarget, **adapter_kw: Any) -> Reconciler:
    adapters = Adapters.for_target(target, **adapter_kw) if adapter_kw else None
    return Reconciler(root / "routes", root, target, adapters=adapters)


def applied(report: PassReport) -> PassReport:
    assert report.outcome is Outcome.APPLIED, report.errors
    return report


def wiring(report: PassReport) -> list[Any]:
    assert report.plan is not None
    return [c for c in report.plan.changes if c.address.kind is ResourceKind.DISTRIBUTION_BEHAVIOR]


@pytest.fixture
def dist(aws: Any, seeded: AwsTarget) -> Dist:
    return Dist(aws)


def test_seed_wiring_from_scratch(dist: Dist, seeded: AwsTarget, wiring_repo: Path) -> None:
    before, _ = dist.config()
    report = applied(engine(wiring_repo, seeded).run_pass())
    assert dist.updates() == 1 and dict(report.calls)["UpdateDistribution"] == 1
    assert [c.address.key for c in wiring(report)] == ["/tenant/*", "default"]
    after, _ = dist.config()
    live = behaviours(after)
    assert live["default"]["FunctionAssociations"] == {
        "Quantity": 1,
        "Items": [{"FunctionARN": FUNCTION_ARN, "EventType": "viewer-request"}],
    }
    tenant = live["/tenant/*"]
    assert tenant["LambdaFunctionAssociations"] == {
        "Quantity": 1,
        "Items": [
            {"LambdaFunctionARN": LAMBDA_ARN.format(1), "EventType": "origin-request", "IncludeBody": True}
        ],
    }
    assert tenant["CachePolicyId"] == CACHING_DISABLED
    assert tenant["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert live["default"]["CachePolicyId"] == CACHING_DISABLED  # declared: CachingOptimized went
    assert without_owned(after) == without_owned(before)


def test_the_plan_shows_policy_names_not_ids(dist: Dist, seeded: AwsTarget, wiring_repo: Path) -> None:
    report = engine(wiring_repo, seeded).run_pass(dry_run=True)
    (tenant,) = [c for c in wiring(report) if c.address.key == "/tenant/*"]
    assert tenant.after["originRequestPolicy"] == "AllViewerExceptHostHeader"
    (default,) = [c for c in wiring(report) if c.address.key == "default"]
    assert default.before["cachePolicy"] == "CachingOptimized"
    assert default.after["cachePolicy"] == "CachingDisabled"
    shown = repr(report.plan)
    assert CACHING_DISABLED not in shown and ALL_VIEWER_EXCEPT_HOST not in shown


def test_unrelated_config_is_identical_before_and_after(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    def undeclared_behaviour(config: dict[str, Any]) -> None:
        extra = copy.deepcopy(behaviours(config)["/tenant/*"])
        extra["PathPattern"] = "/static/*"
        extra["FunctionAssociations"] = {
            "Quantity": 1,
            "Items": [{"FunctionARN": FUNCTION_ARN, "EventType": "viewer-response"}],
        }
        config["CacheBehaviors"]["Items"].append(extra)
        config["CacheBehaviors"]["Quantity"] += 1

    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    dist.edit(undeclared_behaviour)
    before, _ = dist.config()
    write_tenant_function(wiring_repo, 2)  # a pass that rewrites the distribution
    applied(reconciler.run_pass())
    after, _ = dist.config()
    assert without_owned(after) == without_owned(before)
    assert behaviours(after)["/static/*"] == behaviours(before)["/static/*"]


def test_second_pass_makes_no_update_call(dist: Dist, seeded: AwsTarget, wiring_repo: Path) -> None:
    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    sent = dist.updates()
    assert reconciler.run_pass().outcome is Outcome.NO_CHANGES
    assert dist.updates() == sent


def test_drift_on_an_owned_field_is_corrected_and_reported(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())

    def unwire(config: dict[str, Any]) -> None:
        behaviours(config)["default"]["FunctionAssociations"] = {"Quantity": 0}

    dist.edit(unwire)
    report = applied(reconciler.run_pass())
    (change,) = wiring(report)
    assert change.address.key == "default" and change.before == {"functionAssociations": {}}
    (drift,) = report.drift
    assert drift.corrected and drift.as_dict()["found"] == {"functionAssociations": {}}
    assert drift.as_dict()["declared"] == {"functionAssociations": {"viewer-request": FUNCTION_ARN}}
    assert behaviours(dist.config()[0])["default"]["FunctionAssociations"]["Quantity"] == 1


def test_new_lambda_version_is_reassociated_in_the_same_pass(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    write_tenant_function(wiring_repo, 2)
    sent = dist.updates()
    report = applied(reconciler.run_pass())
    (change,) = wiring(report)
    assert change.after == {
        "lambdaAssociations": {"origin-request": {"arn": LAMBDA_ARN.format(2), "includeBody": True}}
    }
    assert dist.updates() == sent + 1
    items = behaviours(dist.config()[0])["/tenant/*"]["LambdaFunctionAssociations"]["Items"]
    assert [i["LambdaFunctionARN"] for i in items] == [LAMBDA_ARN.format(2)]


def test_a_publish_of_a_used_function_does_not_cost_a_conflict(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    """Publishing a CloudFront Function re-deploys the distributions using it (its ETag
    moves). In the same pass, the wiring reads the config again, finds it unchanged and
    writes with the fresh ETag: one UpdateDistribution, no 412, no re-plan."""
    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    write_tier_function(wiring_repo, 2)
    write_tenant_function(wiring_repo, 2)  # a wiring change in the same pass
    sent = dist.updates()
    report = applied(reconciler.run_pass())
    assert report.conflicts == 0
    assert dist.updates() == sent + 1
    assert {c.action for c in report.applied if c.address.kind is ResourceKind.CLOUDFRONT_FUNCTION} == {
        Action.UPDATE,
        Action.PUBLISH,
    }


def test_concurrent_update_between_plan_and_write_replans_once(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    raced: list[str] = []

    def other_writer(distribution_id: str, etag: str) -> None:
        if not raced:
            raced.append(etag)
            dist.set_comment_on_origin("/edited-by-someone-else")

    report = applied(engine(wiring_repo, seeded, before_write=other_writer).run_pass())
    assert report.conflicts == 1
    assert dist.updates() == 3  # theirs, our rejected write, our accepted one
    config, _ = dist.config()
    assert config["Origins"]["Items"][0]["OriginPath"] == "/edited-by-someone-else"
    assert behaviours(config)["/tenant/*"]["CachePolicyId"] == CACHING_DISABLED


def test_concurrent_update_raced_on_the_wire_converges(
    aws: Any, dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    from reconciler.sandbox.hooks import FaultKind

    aws.server.hooks.inject(
        "cloudfront", "UpdateDistribution", kind=FaultKind.RACE, count=1,
        action=lambda call: dist.set_comment_on_origin("/raced"),
    )  # fmt: skip
    report = applied(engine(wiring_repo, seeded).run_pass())
    assert report.conflicts == 1
    config, _ = dist.config()
    assert config["Origins"]["Items"][0]["OriginPath"] == "/raced"
    assert behaviours(config)["default"]["FunctionAssociations"]["Quantity"] == 1


def test_conflicts_are_bounded_exactly(dist: Dist, seeded: AwsTarget, wiring_repo: Path) -> None:
    """A writer that races every write: 1 + MAX_CONFLICT_REPLANS UpdateDistribution calls
    from the pass, then it fails as a conflict; nothing of the wiring landed."""
    edits = iter(range(100))
    ours: list[str] = []

    def always(distribution_id: str, etag: str) -> None:
        ours.append(etag)
        dist.set_comment_on_origin(f"/e{next(edits)}")

    report = engine(wiring_repo, seeded, before_write=always).run_pass()
    assert report.outcome is Outcome.FAILED and report.error_class is ErrorClass.CONFLICT
    assert len(ours) == 1 + MAX_CONFLICT_REPLANS == 4
    assert dist.updates() == 2 * len(ours)  # each of ours follows one of theirs
    assert report.conflicts == MAX_CONFLICT_REPLANS + 1
    assert behaviours(dist.config()[0])["default"]["FunctionAssociations"]["Quantity"] == 0


def test_a_confirmed_plan_is_not_replaced_by_a_different_one(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    """Someone changes an owned field between confirmation and write: the re-plan would
    write something the operator never saw, so the pass stops (StalePlan)."""
    reconciler = engine(wiring_repo, seeded)

    def confirm_then_someone_writes(plan: Any) -> bool:
        def other_policy(config: dict[str, Any]) -> None:
            behaviours(config)["/tenant/*"]["OriginRequestPolicyId"] = (
                "216adef6-5c7f-47e4-b989-5492eafa07d3"  # Managed-AllViewer
            )

        dist.edit(other_policy)
        return True

    report = reconciler.run_pass(confirm=confirm_then_someone_writes)
    assert report.outcome is Outcome.FAILED and report.reason == "StalePlan"
    assert "differs from the plan shown" in report.errors[0]
    assert report.error_class is ErrorClass.FATAL


def test_an_unrelated_edit_after_confirmation_still_applies_what_was_shown(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    reconciler = engine(wiring_repo, seeded)
    shown: list[Any] = []

    def confirm(plan: Any) -> bool:
        shown.append(plan)
        dist.set_comment_on_origin("/unrelated")
        return True

    report = applied(reconciler.run_pass(confirm=confirm))
    assert report.conflicts == 1
    assert {(c.address, c.action) for c in report.applied} <= {
        (c.address, c.action) for c in shown[0].changes
    }


def test_a_saved_plan_whose_wiring_changed_is_refused(
    aws: Any, dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    reconciler = engine(wiring_repo, seeded)
    saved = reconciler.run_pass(dry_run=True).plan
    assert saved is not None
    dist.set_comment_on_origin("/moved")  # the distribution's ETag moves
    report = reconciler.run_pass(expected=saved)
    assert report.outcome is Outcome.FAILED and report.reason == "StalePlan"
    assert "distribution:shop" in report.errors[0]
    assert report.write_calls == 0


def test_missing_behaviour_path_is_a_plan_error_with_nothing_applied(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    path = wiring_repo / "routes" / "distribution.yaml"
    path.write_text(
        path.read_text().replace("    - path: /tenant/*", "    - path: /api/*", 1)
    )
    before = dist.config()
    report = engine(wiring_repo, seeded).run_pass()
    assert report.outcome is Outcome.REFUSED
    message = " ".join(report.errors)
    assert "'/api/*'" in message and "'default'" in message and "'/tenant/*'" in message
    assert dist.updates() == 0 and report.write_calls == 0
    assert dist.config() == before


def test_selector_by_alias(aws: Any, dist: Dist, seeded: AwsTarget, wiring_repo: Path) -> None:
    def alias(config: dict[str, Any]) -> None:
        config["Aliases"] = {"Quantity": 1, "Items": ["shop.example.com"]}

    dist.edit(alias)
    path = wiring_repo / "routes" / "distribution.yaml"
    text = re.sub(r"comment: \S+", "alias: SHOP.example.com", path.read_text(), count=1)
    path.write_text(text)
    applied(engine(wiring_repo, seeded).run_pass())
    assert behaviours(dist.config()[0])["default"]["FunctionAssociations"]["Quantity"] == 1


def test_selector_matching_several_is_a_plan_error(
    aws: Any, dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    from reconciler.sandbox.seed import distribution_config

    config = distribution_config()
    config["CallerReference"] = "another"
    dist.cf.create_distribution(DistributionConfig=config)
    report = engine(wiring_repo, seeded).run_pass()
    assert report.outcome is Outcome.REFUSED
    assert f"2 distributions have comment {DISTRIBUTION_COMMENT!r}" in report.errors[0]


def test_wait_deployed_reports_progress_until_deployed(
    dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    seen: list[tuple[str, str]] = []
    reconciler.adapters.distributions.wait_deployed(
        dist.id, timeout=60, delay=0, on_progress=lambda status, _e: seen.append(("shop", status))
    )
    assert seen[0][1] == "InProgress" and seen[-1][1] == "Deployed"


def test_wait_deployed_times_out_as_retryable(
    aws: Any, dist: Dist, seeded: AwsTarget, wiring_repo: Path
) -> None:
    from reconciler.aws.errors import RetryableError

    reconciler = engine(wiring_repo, seeded)
    applied(reconciler.run_pass())
    aws.server.hooks.switches.update(distribution_deploy_reads=1000)  # reset by the fixture
    with pytest.raises(RetryableError, match="still InProgress"):
        reconciler.adapters.distributions.wait_deployed(dist.id, timeout=0.0, delay=0.01)
