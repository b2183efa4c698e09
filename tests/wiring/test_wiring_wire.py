"""Distribution wiring against the emulated AWS over HTTP, with stock boto3 clients.

UpdateDistribution calls are counted twice: at the adapter's own client (botocore's
before-call event: every call the code sends, rejected ones included) and on the wire
(the sandbox's hooks: every call the server received).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.aws.distributions import DistributionAdapter, WiringError
from reconciler.aws.errors import ConflictError, ErrorClass, classify
from reconciler.core.wiring import LEGACY_CACHE_FIELDS, BehaviorRefs, DistributionSelector
from tests.wiring.conftest import Seed, distribution_config

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
FUNCTION_ARN = "arn:aws:cloudfront::123456789012:function/tier-router"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:{}"
OWNED: tuple[str, ...] = ("FunctionAssociations", "LambdaFunctionAssociations", "CachePolicyId")
OWNED += ("OriginRequestPolicyId", *LEGACY_CACHE_FIELDS)


class Counter:
    """UpdateDistribution calls sent by one adapter's client."""

    def __init__(self, adapter: DistributionAdapter) -> None:
        self.n = 0
        adapter.client.meta.events.register(
            "before-call.cloudfront.UpdateDistribution", self._count
        )

    def _count(self, **_: Any) -> None:
        self.n += 1


def wire_updates(seed: Seed) -> int:
    return int(seed.aws.server.hooks.count("cloudfront", "UpdateDistribution"))


def behaviours(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {"default": config["DefaultCacheBehavior"]}
    found.update({b["PathPattern"]: b for b in config["CacheBehaviors"].get("Items") or []})
    return found


def without_owned(config: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    for path, raw in behaviours(out).items():
        if path in paths:
            for name in OWNED:
                raw.pop(name, None)
    return out


def adapter_for(
    seed: Seed, before_write: Callable[[str, str], None] | None = None
) -> DistributionAdapter:
    return DistributionAdapter(seed.aws.target, before_write=before_write)


def wire_seed(seed: Seed, adapter: DistributionAdapter | None = None) -> Any:
    adapter = adapter or adapter_for(seed)
    desired = adapter.resolve("shop", seed.selector, seed.refs())
    return adapter.apply(desired)


def someone_else_edits(seed: Seed, prefix: str) -> None:
    """Another writer (a person, Terraform) changes a field the reconciler does not own."""
    config, etag = seed.config()
    config["Logging"]["Prefix"] = prefix
    seed.cf.update_distribution(Id=seed.distribution_id, IfMatch=etag, DistributionConfig=config)


# ------------------------------------------------------------------------ the seed


def test_seed_wiring_from_scratch(seed: Seed) -> None:
    adapter = adapter_for(seed)
    sent = Counter(adapter)

    result = wire_seed(seed, adapter)

    assert (result.update_calls, result.conflicts, sent.n, wire_updates(seed)) == (1, 0, 1, 1)
    assert [c.address.key for c in result.plan.changes] == ["/tenant/*", "default"]
    live = behaviours(seed.config()[0])
    assert live["default"]["FunctionAssociations"] == {
        "Quantity": 1,
        "Items": [{"FunctionARN": FUNCTION_ARN, "EventType": "viewer-request"}],
    }
    assert live["default"]["LambdaFunctionAssociations"]["Quantity"] == 0
    tenant = live["/tenant/*"]
    assert tenant["LambdaFunctionAssociations"] == {
        "Quantity": 1,
        "Items": [
            {
                "LambdaFunctionARN": LAMBDA_ARN.format(1),
                "EventType": "origin-request",
                "IncludeBody": True,
            }
        ],
    }
    assert tenant["CachePolicyId"] == CACHING_DISABLED
    assert tenant["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST
    assert "ForwardedValues" not in tenant
    # The default behaviour declares no cache policy: its legacy settings stay (with the
    # empty Headers / QueryStringCacheKeys lists AWS returns, docs/sandbox.md).
    assert live["default"]["ForwardedValues"] == {
        "QueryString": False,
        "Cookies": {"Forward": "none"},
        "Headers": {"Quantity": 0},
        "QueryStringCacheKeys": {"Quantity": 0},
    }
    assert live["default"]["DefaultTTL"] == 86400
    assert result.etag == seed.config()[1] != result.plan.etag


def test_unrelated_config_is_identical_before_and_after(seed: Seed) -> None:
    # An undeclared behaviour with a function of its own: not ours, must survive as is.
    config, etag = seed.config()
    behaviours(config)["/static/*"]["FunctionAssociations"] = {
        "Quantity": 1,
        "Items": [{"FunctionARN": FUNCTION_ARN, "EventType": "viewer-response"}],
    }
    seed.cf.update_distribution(Id=seed.distribution_id, IfMatch=etag, DistributionConfig=config)
    before, _ = seed.config()
    wire_seed(seed)
    after, _ = seed.config()

    declared = ("default", "/tenant/*")
    assert without_owned(after, declared) == without_owned(before, declared)
    assert behaviours(after)["/static/*"] == behaviours(before)["/static/*"]
    assert behaviours(after)["/static/*"]["FunctionAssociations"]["Quantity"] == 1
    for key in ("Origins", "Aliases", "Logging", "Comment", "ViewerCertificate", "Restrictions"):
        assert after[key] == before[key], key


def test_second_pass_makes_no_update_call(seed: Seed) -> None:
    adapter = adapter_for(seed)
    sent = Counter(adapter)
    first = wire_seed(seed, adapter)
    wire_before = wire_updates(seed)

    second = wire_seed(seed, adapter)

    assert first.update_calls == 1
    assert second.plan.empty and second.update_calls == 0
    assert sent.n == 1 and wire_updates(seed) == wire_before
    assert second.etag == first.etag


def test_drift_on_an_owned_field_is_corrected_by_the_next_pass(seed: Seed) -> None:
    adapter = adapter_for(seed)
    wire_seed(seed, adapter)
    config, etag = seed.config()
    behaviours(config)["default"]["FunctionAssociations"] = {"Quantity": 0}
    seed.cf.update_distribution(Id=seed.distribution_id, IfMatch=etag, DistributionConfig=config)

    result = wire_seed(seed, adapter)

    (change,) = result.plan.changes
    assert change.address.key == "default"
    assert change.before == {"functionAssociations": {}}
    assert result.update_calls == 1
    assert behaviours(seed.config()[0])["default"]["FunctionAssociations"]["Quantity"] == 1


def test_new_lambda_version_is_reassociated_in_the_same_pass(seed: Seed) -> None:
    adapter = adapter_for(seed)
    wire_seed(seed, adapter)
    v2 = seed.publish_lambda("export const handler = async (e) => e.Records[0].cf.request; // v2\n")
    assert v2 == LAMBDA_ARN.format(2)

    desired = adapter.resolve(
        "shop", seed.selector, seed.refs(), lambda_versions={"tenant-router": v2}
    )
    result = adapter.apply(desired)

    (change,) = result.plan.changes
    assert change.address.key == "/tenant/*"
    assert change.after == {
        "lambdaAssociations": {"origin-request": {"arn": v2, "includeBody": True}}
    }
    assert result.update_calls == 1
    items = behaviours(seed.config()[0])["/tenant/*"]["LambdaFunctionAssociations"]["Items"]
    assert [i["LambdaFunctionARN"] for i in items] == [v2]


def test_without_a_passed_version_the_latest_published_one_is_used(seed: Seed) -> None:
    adapter = adapter_for(seed)
    assert adapter.lambda_version_arn("tenant-router") == LAMBDA_ARN.format(1)
    seed.publish_lambda("// v2\nexport const handler = async (e) => e;\n")
    assert adapter.lambda_version_arn("tenant-router") == LAMBDA_ARN.format(2)
    assert adapter.lambda_version_arn("tenant-router", "1") == LAMBDA_ARN.format(1)
    with pytest.raises(WiringError, match="never \\$LATEST"):
        adapter.lambda_version_arn("tenant-router", "$LATEST")
    other = "arn:aws:lambda:us-east-1:123456789012:function:other-fn:3"
    with pytest.raises(WiringError, match="belongs to another function"):
        adapter.lambda_version_arn("tenant-router", other)


# ----------------------------------------------------------------------- conflicts


def test_concurrent_update_between_read_and_write_converges_with_one_retry(seed: Seed) -> None:
    raced: list[str] = []

    def other_writer(distribution_id: str, etag: str) -> None:
        if not raced:
            raced.append(etag)
            someone_else_edits(seed, "edited-by-someone-else/")

    adapter = adapter_for(seed, before_write=other_writer)
    sent = Counter(adapter)
    result = wire_seed(seed, adapter)

    assert (result.update_calls, result.conflicts, sent.n) == (2, 1, 2)
    # 1 from the other writer + our rejected write + our accepted one.
    assert wire_updates(seed) == 3
    config, _ = seed.config()
    assert config["Logging"]["Prefix"] == "edited-by-someone-else/", "their edit survives"
    assert behaviours(config)["/tenant/*"]["CachePolicyId"] == CACHING_DISABLED
    assert result.plan.etag != raced[0], "the retry wrote against the re-read ETag"


def test_concurrent_update_raced_on_the_wire_converges(seed: Seed) -> None:
    """The same race, made by the sandbox right before our UpdateDistribution is served."""
    from reconciler.sandbox.hooks import FaultKind

    seed.aws.server.hooks.inject(
        "cloudfront",
        "UpdateDistribution",
        kind=FaultKind.RACE,
        count=1,
        action=lambda call: someone_else_edits(seed, "raced/"),
    )
    result = wire_seed(seed)

    assert (result.update_calls, result.conflicts) == (2, 1)
    config, _ = seed.config()
    assert config["Logging"]["Prefix"] == "raced/"
    assert behaviours(config)["default"]["FunctionAssociations"]["Quantity"] == 1


def test_a_function_publish_between_plan_and_write_is_a_conflict_too(seed: Seed) -> None:
    """Publishing a CloudFront Function re-deploys the distributions that use it and
    rotates their ETag: the wiring write that follows must re-read, not fail the pass."""
    adapter = adapter_for(seed)
    wire_seed(seed, adapter)
    seed.publish_lambda("// v2\nexport const handler = async (e) => e;\n")

    published: list[str] = []

    def publish(distribution_id: str, etag: str) -> None:
        if not published:
            described = seed.cf.describe_function(Name="tier-router")
            seed.cf.publish_function(Name="tier-router", IfMatch=described["ETag"])
            published.append(etag)

    racing = adapter_for(seed, before_write=publish)
    result = racing.apply(racing.resolve("shop", seed.selector, seed.refs()))
    assert result.conflicts == 1 and result.update_calls == 2


def test_conflicts_are_bounded_then_fail_with_a_conflict_error(seed: Seed) -> None:
    edits = iter(range(100))
    adapter = adapter_for(
        seed, before_write=lambda *_: someone_else_edits(seed, f"e{next(edits)}/")
    )
    sent = Counter(adapter)
    desired = adapter.resolve("shop", seed.selector, seed.refs())

    with pytest.raises(ConflictError, match="412") as caught:
        adapter.apply(desired)

    assert classify(caught.value) is ErrorClass.CONFLICT
    assert sent.n == 4, "one write and three retries"
    assert behaviours(seed.config()[0])["default"]["FunctionAssociations"]["Quantity"] == 0


def test_a_stale_shown_plan_is_refused(seed: Seed) -> None:
    adapter = adapter_for(seed)
    desired = adapter.resolve("shop", seed.selector, seed.refs())
    shown = adapter.plan(desired)
    wire_seed(seed)  # someone applied it in between: the shown plan no longer holds

    with pytest.raises(ConflictError, match="re-plan"):
        adapter.apply(desired, expected=shown)


def test_an_unchanged_shown_plan_applies(seed: Seed) -> None:
    adapter = adapter_for(seed)
    desired = adapter.resolve("shop", seed.selector, seed.refs())
    shown = adapter.plan(desired)
    assert adapter.apply(desired, expected=shown).plan.changes == shown.changes


# ----------------------------------------------------------------- clean failures


def test_missing_behaviour_path_fails_cleanly_with_nothing_applied(seed: Seed) -> None:
    adapter = adapter_for(seed)
    sent = Counter(adapter)
    before = seed.config()
    refs = (*seed.refs(), BehaviorRefs("/api/*", functions={"viewer-request": "tier-router"}))
    desired = adapter.resolve("shop", seed.selector, refs)

    with pytest.raises(WiringError) as caught:
        adapter.apply(desired)

    message = str(caught.value)
    assert "'/api/*'" in message and "'default'" in message and "'/tenant/*'" in message
    assert "nothing applied" in message
    assert classify(caught.value) is ErrorClass.FATAL
    assert sent.n == 0 and wire_updates(seed) == 0
    assert seed.config() == before


def test_function_and_lambda_at_one_viewer_event_is_refused_before_any_write(seed: Seed) -> None:
    adapter = adapter_for(seed)
    refs = (
        BehaviorRefs(
            "default",
            functions={"viewer-request": "tier-router"},
            lambdas={"viewer-request": ("tenant-router", False)},
        ),
    )
    with pytest.raises(WiringError, match="only one of the two"):
        adapter.apply(adapter.resolve("shop", seed.selector, refs))
    assert wire_updates(seed) == 0


def test_unpublished_function_is_a_clear_error(seed: Seed) -> None:
    seed.cf.create_function(
        Name="draft",
        FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"},
        FunctionCode=b"function handler(e) { return e.request; }",
    )
    adapter = adapter_for(seed)
    with pytest.raises(WiringError, match="function draft has never been published"):
        adapter.function_arn("draft")
    with pytest.raises(WiringError, match="does not exist"):
        adapter.function_arn("nope")


def test_lambda_without_published_version_is_a_clear_error(seed: Seed) -> None:
    role = seed.aws.client("iam").get_role(RoleName="tenant-router-edge")["Role"]["Arn"]
    seed.lam.create_function(
        FunctionName="unpublished",
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    adapter = adapter_for(seed)
    with pytest.raises(WiringError, match="no published version"):
        adapter.lambda_version_arn("unpublished")
    with pytest.raises(WiringError, match="does not exist"):
        adapter.lambda_version_arn("missing")


def test_policies_resolve_by_managed_name_full_name_or_id(seed: Seed) -> None:
    adapter = adapter_for(seed)
    assert adapter.cache_policy_id("CachingDisabled") == CACHING_DISABLED
    assert adapter.cache_policy_id("Managed-CachingDisabled") == CACHING_DISABLED
    assert adapter.cache_policy_id(CACHING_DISABLED) == CACHING_DISABLED
    assert adapter.origin_request_policy_id("AllViewerExceptHostHeader") == ALL_VIEWER_EXCEPT_HOST
    with pytest.raises(WiringError, match="Managed-CachingOptimized"):
        adapter.cache_policy_id("CachingSometimes")


def test_policy_lists_are_read_once_per_adapter(seed: Seed) -> None:
    adapter = adapter_for(seed)
    hooks = seed.aws.server.hooks
    for _ in range(3):
        adapter.cache_policy_id("CachingDisabled")
    # managed + custom listing, once.
    assert hooks.count("cloudfront", "ListCachePolicies") == 2


# ----------------------------------------------------------------------- selectors


def test_selector_by_alias_and_by_comment(seed: Seed) -> None:
    adapter = adapter_for(seed)
    assert adapter.find(DistributionSelector(alias="SHOP.example.com")) == seed.distribution_id
    assert adapter.find(DistributionSelector(comment="shop")) == seed.distribution_id
    by_alias = DistributionSelector(alias="shop.example.com")
    result = adapter.apply(adapter.resolve("shop", by_alias, seed.refs()))
    assert result.distribution_id == seed.distribution_id and result.update_calls == 1


def test_selector_matching_none_or_several_is_an_error(seed: Seed) -> None:
    seed.cf.create_distribution(
        DistributionConfig=distribution_config("shop", "other.example.com", "seed-2")
    )
    adapter = adapter_for(seed)
    with pytest.raises(WiringError, match="2 distributions have comment 'shop'"):
        adapter.find(DistributionSelector(comment="shop"))
    with pytest.raises(WiringError, match="no distribution has alias"):
        adapter.find(DistributionSelector(alias="nowhere.example.com"))
    with pytest.raises(WiringError, match="no distribution with id"):
        adapter.read("shop", "EDOESNOTEXIST")


# -------------------------------------------------------------------------- deploy


def test_wait_deployed_reports_progress_until_deployed(seed: Seed) -> None:
    adapter = adapter_for(seed)
    result = wire_seed(seed, adapter)
    seen: list[str] = []

    adapter.wait_deployed(
        result.distribution_id,
        timeout=60,
        delay=0,
        on_progress=lambda status, _elapsed: seen.append(status),
    )

    assert seen[0] == "InProgress" and seen[-1] == "Deployed"


def test_wait_deployed_times_out_as_retryable(seed: Seed) -> None:
    adapter = adapter_for(seed)
    result = wire_seed(seed, adapter)
    # The sandbox's switch (restored by the next test's reset): Deployed on the 1000th read.
    seed.aws.server.hooks.switches.update(distribution_deploy_reads=1000)
    with pytest.raises(Exception, match="still InProgress") as caught:
        adapter.wait_deployed(result.distribution_id, timeout=0.0, delay=0.01)
    assert classify(caught.value) is ErrorClass.RETRYABLE
