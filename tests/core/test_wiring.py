"""The wiring core: only owned fields of declared behaviours change, everything else is
deep-equal before and after; errors are found before anything is sent."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.model import Action, Address, Phase, ResourceKind
from reconciler.core.wiring import (
    LEGACY_CACHE_FIELDS,
    DesiredBehavior,
    DesiredDistribution,
    DistributionSelector,
    LambdaAssociation,
    apply_wiring,
    observe_config,
    plan_wiring,
)

FN_ARN = "arn:aws:cloudfront::123456789012:function/tier-router"
FN2_ARN = "arn:aws:cloudfront::123456789012:function/other"
LAMBDA_V1 = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:1"
LAMBDA_V2 = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:2"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
LEGACY = {
    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
    "MinTTL": 0,
    "DefaultTTL": 86400,
    "MaxTTL": 31536000,
}


def behaviour(path: str | None, origin: str, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "TargetOriginId": origin,
        "ViewerProtocolPolicy": "redirect-to-https",
        "AllowedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]},
        "Compress": True,
        "FunctionAssociations": {"Quantity": 0},
        "LambdaFunctionAssociations": {"Quantity": 0},
        **copy.deepcopy(LEGACY),
        **extra,
    }
    if path is not None:
        raw = {"PathPattern": path, **raw}
    return raw


def config() -> dict[str, Any]:
    return {
        "CallerReference": "ref-1",
        "Comment": "shop",
        "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": ["shop.example.com"]},
        "Origins": {
            "Quantity": 2,
            "Items": [
                {"Id": "default", "DomainName": "a.example.com"},
                {"Id": "tenant", "DomainName": "b.example.com"},
            ],
        },
        "DefaultCacheBehavior": behaviour(None, "default"),
        "CacheBehaviors": {
            "Quantity": 2,
            "Items": [
                behaviour("/tenant/*", "tenant"),
                behaviour(
                    "/static/*",
                    "default",
                    FunctionAssociations={
                        "Quantity": 1,
                        "Items": [{"FunctionARN": FN2_ARN, "EventType": "viewer-response"}],
                    },
                ),
            ],
        },
        "Logging": {"Enabled": True, "IncludeCookies": False, "Bucket": "l.s3", "Prefix": "p/"},
    }


SEED = DesiredDistribution(
    name="shop",
    selector=DistributionSelector(id="E2EXAMPLE"),
    behaviors=(
        DesiredBehavior("default", function_associations={"viewer-request": FN_ARN}),
        DesiredBehavior(
            "/tenant/*",
            lambda_associations={"origin-request": (LAMBDA_V1, True)},
            cache_policy_id=CACHING_DISABLED,
            origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST,
        ),
    ),
)


def observed(cfg: dict[str, Any], etag: str = "E1") -> Any:
    return observe_config("shop", "E2EXAMPLE", etag, "Deployed", cfg)


def without_owned(cfg: dict[str, Any], paths: set[str]) -> dict[str, Any]:
    """The config minus the fields the reconciler owns on the declared behaviours."""
    out = copy.deepcopy(cfg)
    owned: tuple[str, ...] = ("FunctionAssociations", "LambdaFunctionAssociations")
    owned += ("CachePolicyId", "OriginRequestPolicyId", *LEGACY_CACHE_FIELDS)
    targets = [("default", out["DefaultCacheBehavior"])]
    targets += [(b["PathPattern"], b) for b in out["CacheBehaviors"]["Items"]]
    for path, raw in targets:
        if path in paths:
            for name in owned:
                raw.pop(name, None)
    return out


# ------------------------------------------------------------------------- apply


def test_apply_changes_only_owned_fields_of_declared_behaviours() -> None:
    before = config()
    after = apply_wiring(before, SEED)

    assert before == config(), "input must not be mutated"
    assert without_owned(after, {"default", "/tenant/*"}) == without_owned(
        before, {"default", "/tenant/*"}
    )
    # The undeclared behaviour, origins, aliases, logging: untouched, including its own
    # CloudFront Function association.
    assert after["CacheBehaviors"]["Items"][1] == before["CacheBehaviors"]["Items"][1]
    for key in ("Origins", "Aliases", "Logging", "Comment", "CallerReference"):
        assert after[key] == before[key]


def test_apply_writes_consistent_association_blocks() -> None:
    after = apply_wiring(config(), SEED)
    default = after["DefaultCacheBehavior"]
    tenant = after["CacheBehaviors"]["Items"][0]

    assert default["FunctionAssociations"] == {
        "Quantity": 1,
        "Items": [{"FunctionARN": FN_ARN, "EventType": "viewer-request"}],
    }
    assert default["LambdaFunctionAssociations"] == {"Quantity": 0}
    assert tenant["LambdaFunctionAssociations"] == {
        "Quantity": 1,
        "Items": [
            {"LambdaFunctionARN": LAMBDA_V1, "EventType": "origin-request", "IncludeBody": True}
        ],
    }
    assert tenant["CachePolicyId"] == CACHING_DISABLED
    assert tenant["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST


def test_association_items_sorted_by_event_type() -> None:
    desired = DesiredDistribution(
        "shop",
        DistributionSelector(id="E"),
        (
            DesiredBehavior(
                "/tenant/*",
                lambda_associations={
                    "origin-response": (LAMBDA_V1, False),
                    "origin-request": (LAMBDA_V2, True),
                    "viewer-request": (LAMBDA_V1, False),
                },
            ),
        ),
    )
    items = apply_wiring(config(), desired)["CacheBehaviors"]["Items"][0][
        "LambdaFunctionAssociations"
    ]
    assert items["Quantity"] == 3
    assert [i["EventType"] for i in items["Items"]] == [
        "origin-request",
        "origin-response",
        "viewer-request",
    ]


def test_legacy_cache_fields_removed_when_cache_policy_set() -> None:
    tenant = apply_wiring(config(), SEED)["CacheBehaviors"]["Items"][0]
    for legacy in LEGACY_CACHE_FIELDS:
        assert legacy not in tenant


def test_legacy_cache_fields_kept_without_cache_policy() -> None:
    default = apply_wiring(config(), SEED)["DefaultCacheBehavior"]
    for legacy, value in LEGACY.items():
        assert default[legacy] == value


def test_undeclared_policies_are_left_as_is() -> None:
    cfg = config()
    tenant = cfg["CacheBehaviors"]["Items"][0]
    for legacy in LEGACY_CACHE_FIELDS:
        tenant.pop(legacy)
    tenant["CachePolicyId"] = "custom-policy-id"
    tenant["OriginRequestPolicyId"] = "custom-orp-id"
    desired = DesiredDistribution(
        "shop",
        DistributionSelector(id="E"),
        (DesiredBehavior("/tenant/*", lambda_associations={"origin-request": (LAMBDA_V1, True)}),),
    )
    after = apply_wiring(cfg, desired)["CacheBehaviors"]["Items"][0]
    assert after["CachePolicyId"] == "custom-policy-id"
    assert after["OriginRequestPolicyId"] == "custom-orp-id"
    assert plan_wiring(desired, observed(cfg)).changes[0].after == {
        "lambdaAssociations": {"origin-request": {"arn": LAMBDA_V1, "includeBody": True}}
    }


def test_declared_empty_associations_remove_existing_ones() -> None:
    desired = DesiredDistribution(
        "shop", DistributionSelector(id="E"), (DesiredBehavior("/static/*"),)
    )
    after = apply_wiring(config(), desired)
    assert after["CacheBehaviors"]["Items"][1]["FunctionAssociations"] == {"Quantity": 0}


def test_apply_is_a_fixed_point_once_wired() -> None:
    wired = apply_wiring(config(), SEED)
    assert apply_wiring(wired, SEED) == wired


# -------------------------------------------------------------------------- plan


def test_plan_reports_owned_fields_as_plain_json() -> None:
    plan = plan_wiring(SEED, observed(config()))

    assert plan.applicable and plan.etag == "E1"
    assert [c.address for c in plan.changes] == [
        Address(ResourceKind.DISTRIBUTION_BEHAVIOR, "shop", "/tenant/*"),
        Address(ResourceKind.DISTRIBUTION_BEHAVIOR, "shop", "default"),
    ]
    assert all(c.action is Action.UPDATE and c.phase is Phase.WIRING for c in plan.changes)
    tenant, default = plan.changes
    assert default.before == {"functionAssociations": {}}
    assert default.after == {"functionAssociations": {"viewer-request": FN_ARN}}
    assert tenant.after == {
        "cachePolicyId": CACHING_DISABLED,
        "lambdaAssociations": {"origin-request": {"arn": LAMBDA_V1, "includeBody": True}},
        "originRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
    }
    assert tenant.before["cachePolicyId"] is None
    assert "cachePolicyId" in tenant.reason
    json.dumps([c.before for c in plan.changes] + [c.after for c in plan.changes])


def test_plan_is_empty_when_already_wired() -> None:
    plan = plan_wiring(SEED, observed(apply_wiring(config(), SEED)))
    assert plan.empty and plan.applicable


def test_only_the_new_lambda_version_is_in_the_plan() -> None:
    wired = apply_wiring(config(), SEED)
    bumped = DesiredDistribution(
        SEED.name,
        SEED.selector,
        (
            SEED.behaviors[0],
            DesiredBehavior(
                "/tenant/*",
                lambda_associations={"origin-request": LambdaAssociation(LAMBDA_V2, True)},
                cache_policy_id=CACHING_DISABLED,
                origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST,
            ),
        ),
    )
    (change,) = plan_wiring(bumped, observed(wired)).changes
    assert change.address.key == "/tenant/*"
    assert change.before == {
        "lambdaAssociations": {"origin-request": {"arn": LAMBDA_V1, "includeBody": True}}
    }
    assert change.after == {
        "lambdaAssociations": {"origin-request": {"arn": LAMBDA_V2, "includeBody": True}}
    }


def test_include_body_alone_is_a_change() -> None:
    wired = apply_wiring(config(), SEED)
    flipped = DesiredDistribution(
        "shop",
        SEED.selector,
        (DesiredBehavior("/tenant/*", lambda_associations={"origin-request": (LAMBDA_V1, False)}),),
    )
    assert len(plan_wiring(flipped, observed(wired)).changes) == 1


def test_association_order_on_the_wire_is_not_drift() -> None:
    cfg = config()
    cfg["DefaultCacheBehavior"]["LambdaFunctionAssociations"] = {
        "Quantity": 2,
        "Items": [
            {"LambdaFunctionARN": LAMBDA_V1, "EventType": "origin-response", "IncludeBody": False},
            {"LambdaFunctionARN": LAMBDA_V1, "EventType": "origin-request", "IncludeBody": False},
        ],
    }
    desired = DesiredDistribution(
        "shop",
        SEED.selector,
        (
            DesiredBehavior(
                "default",
                lambda_associations={
                    "origin-request": (LAMBDA_V1, False),
                    "origin-response": (LAMBDA_V1, False),
                },
            ),
        ),
    )
    assert plan_wiring(desired, observed(cfg)).empty
    assert apply_wiring(cfg, desired) == cfg


def test_moto_style_empty_strings_mean_no_policy() -> None:
    cfg = config()
    cfg["DefaultCacheBehavior"]["CachePolicyId"] = ""
    seen = observed(cfg).behaviors["default"]
    assert seen.cache_policy_id is None and seen.origin_request_policy_id is None


# ------------------------------------------------------------------------ errors


def test_missing_path_is_an_error_naming_existing_paths() -> None:
    desired = DesiredDistribution(
        "shop",
        SEED.selector,
        (
            *SEED.behaviors,
            DesiredBehavior("/api/*", function_associations={"viewer-request": FN_ARN}),
        ),
    )
    plan = plan_wiring(desired, observed(config()))

    assert not plan.applicable
    (error,) = plan.errors
    assert error.address == Address(ResourceKind.DISTRIBUTION_BEHAVIOR, "shop", "/api/*")
    assert "'/api/*'" in error.message
    for path in ("'default'", "'/tenant/*'", "'/static/*'"):
        assert path in error.message
    assert "does not create behaviours" in error.message
    with pytest.raises(ValueError, match="/api/"):
        apply_wiring(config(), desired)


def test_missing_leading_slash_gets_a_hint() -> None:
    desired = DesiredDistribution("shop", SEED.selector, (DesiredBehavior("tenant/*"),))
    (error,) = plan_wiring(desired, observed(config())).errors
    assert "did you mean '/tenant/*'" in error.message


@pytest.mark.parametrize("event", ["viewer-request", "viewer-response"])
def test_function_and_lambda_at_the_same_viewer_event_is_an_error(event: str) -> None:
    desired = DesiredDistribution(
        "shop",
        SEED.selector,
        (
            DesiredBehavior(
                "default",
                function_associations={event: FN_ARN},
                lambda_associations={event: (LAMBDA_V1, False)},
            ),
        ),
    )
    plan = plan_wiring(desired, observed(config()))
    (error,) = plan.errors
    assert event in error.message and "only one" in error.message
    assert plan.changes == ()


def test_function_and_lambda_at_different_events_are_fine() -> None:
    desired = DesiredDistribution(
        "shop",
        SEED.selector,
        (
            DesiredBehavior(
                "default",
                function_associations={"viewer-request": FN_ARN},
                lambda_associations={"origin-request": (LAMBDA_V1, False)},
            ),
        ),
    )
    assert plan_wiring(desired, observed(config())).applicable


@pytest.mark.parametrize(
    ("behavior", "fragment"),
    [
        (
            DesiredBehavior("default", function_associations={"origin-request": FN_ARN}),
            "cannot run",
        ),
        (
            DesiredBehavior("default", function_associations={"viewer-request": "tier-router"}),
            "not a CloudFront Function ARN",
        ),
        (
            DesiredBehavior(
                "default",
                lambda_associations={
                    "origin-request": (
                        "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
                        False,
                    )
                },
            ),
            "numbered Lambda version",
        ),
        (
            DesiredBehavior("default", origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST),
            "needs a cache policy",
        ),
        (
            DesiredBehavior("default", lambda_associations={"origin-response": (LAMBDA_V1, True)}),
            "includeBody is only possible",
        ),
        (
            DesiredBehavior(
                "default",
                lambda_associations={
                    "origin-request": ("arn:aws:lambda:eu-west-1:123456789012:function:f:3", False)
                },
            ),
            "must be in us-east-1",
        ),
    ],
)
def test_what_cloudfront_would_reject_is_a_plan_error(
    behavior: DesiredBehavior, fragment: str
) -> None:
    plan = plan_wiring(DesiredDistribution("shop", SEED.selector, (behavior,)), observed(config()))
    assert any(fragment in e.message for e in plan.errors), plan.errors


def test_origin_request_policy_with_an_attached_cache_policy_is_fine() -> None:
    wired = apply_wiring(config(), SEED)
    desired = DesiredDistribution(
        "shop", SEED.selector, (DesiredBehavior("/tenant/*", origin_request_policy_id="other-orp"),)
    )
    assert plan_wiring(desired, observed(wired)).applicable


def test_duplicate_path_is_an_error() -> None:
    desired = DesiredDistribution(
        "shop", SEED.selector, (DesiredBehavior("default"), DesiredBehavior("default"))
    )
    assert any(
        "more than once" in e.message for e in plan_wiring(desired, observed(config())).errors
    )


def test_selector_needs_exactly_one_key() -> None:
    with pytest.raises(ValueError):
        DistributionSelector()
    with pytest.raises(ValueError):
        DistributionSelector(id="E", alias="a.example.com")


def test_to_plan_carries_the_etag_as_observed_version() -> None:
    plan = plan_wiring(SEED, observed(config(), etag="E9")).to_plan()
    assert plan.observed_versions == (("distribution:shop", "E9"),)
    assert len(plan.changes) == 2 and plan.applicable


# ------------------------------------------------------------------ properties

PATHS = ("default", "/a/*", "/b/*", "/c/*")
ARNS = st.sampled_from([FN_ARN, FN2_ARN])
LAMBDAS = st.tuples(st.sampled_from([LAMBDA_V1, LAMBDA_V2]), st.booleans())
POLICY = st.sampled_from([None, CACHING_DISABLED, "custom-id"])


@st.composite
def live_behaviour(draw: st.DrawFn, path: str) -> dict[str, Any]:
    functions = draw(st.dictionaries(st.sampled_from(["viewer-request", "viewer-response"]), ARNS))
    lambdas = draw(st.dictionaries(st.sampled_from(["origin-request", "origin-response"]), LAMBDAS))
    raw: dict[str, Any] = {
        "TargetOriginId": draw(st.sampled_from(["o1", "o2"])),
        "Compress": draw(st.booleans()),
        "FunctionAssociations": {
            "Quantity": len(functions),
            "Items": [{"FunctionARN": a, "EventType": e} for e, a in functions.items()],
        },
        "LambdaFunctionAssociations": {
            "Quantity": len(lambdas),
            "Items": [
                {"LambdaFunctionARN": a, "EventType": e, "IncludeBody": b}
                for e, (a, b) in lambdas.items()
            ],
        },
    }
    cache_policy = draw(POLICY)
    if cache_policy is None:
        raw.update(copy.deepcopy(LEGACY))
    else:
        raw["CachePolicyId"] = cache_policy
        if draw(st.booleans()):
            raw["OriginRequestPolicyId"] = draw(st.sampled_from(["orp-1", ALL_VIEWER_EXCEPT_HOST]))
    return raw if path == "default" else {"PathPattern": path, **raw}


@st.composite
def live_config(draw: st.DrawFn) -> dict[str, Any]:
    others = draw(st.lists(st.sampled_from(PATHS[1:]), unique=True))
    items = [draw(live_behaviour(p)) for p in others]
    return {
        "Comment": draw(st.text(max_size=5)),
        "Origins": {"Quantity": 1, "Items": [{"Id": "o1", "DomainName": "x.example.com"}]},
        "DefaultCacheBehavior": draw(live_behaviour("default")),
        "CacheBehaviors": {"Quantity": len(items), "Items": items},
    }


@st.composite
def lambda_associations(draw: st.DrawFn) -> dict[str, tuple[str, bool]]:
    out: dict[str, tuple[str, bool]] = {}
    if draw(st.booleans()):
        out["origin-request"] = draw(LAMBDAS)
    if draw(st.booleans()):  # IncludeBody exists for request events only
        out["viewer-response"] = (draw(st.sampled_from([LAMBDA_V1, LAMBDA_V2])), False)
    return out


@st.composite
def desired_for(draw: st.DrawFn, cfg: dict[str, Any]) -> DesiredDistribution:
    existing = ["default", *(b["PathPattern"] for b in cfg["CacheBehaviors"]["Items"])]
    paths = draw(st.lists(st.sampled_from(existing), unique=True))
    behaviors = []
    for path in paths:
        cache_policy = draw(POLICY)
        behaviors.append(
            DesiredBehavior(
                path,
                function_associations=draw(st.dictionaries(st.just("viewer-request"), ARNS)),
                lambda_associations=draw(lambda_associations()),
                cache_policy_id=cache_policy,
                origin_request_policy_id=draw(st.sampled_from([None, ALL_VIEWER_EXCEPT_HOST]))
                if cache_policy
                else None,
            )
        )
    return DesiredDistribution("shop", DistributionSelector(id="E"), tuple(behaviors))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_only_owned_fields_change_and_apply_converges(data: st.DataObject) -> None:
    before = data.draw(live_config())
    desired = data.draw(desired_for(before))
    plan = plan_wiring(desired, observed(before))
    assert plan.applicable, plan.errors

    after = apply_wiring(before, desired)

    declared = {b.path for b in desired.behaviors}
    assert without_owned(after, declared) == without_owned(before, declared)
    assert (after == before) == plan.empty
    assert plan_wiring(desired, observed(after)).empty
    assert apply_wiring(after, desired) == after
    for raw in [after["DefaultCacheBehavior"], *after["CacheBehaviors"]["Items"]]:
        for block in ("FunctionAssociations", "LambdaFunctionAssociations"):
            items = raw[block].get("Items") or []
            assert raw[block]["Quantity"] == len(items)
            assert [i["EventType"] for i in items] == sorted(i["EventType"] for i in items) or (
                raw.get("PathPattern", "default") not in declared
            )
        assert not (raw.get("CachePolicyId") and "ForwardedValues" in raw)
