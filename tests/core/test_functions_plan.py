"""plan_functions: pure decisions about edge function create / update / publish / clean-up."""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.function_versions import observed_versions
from reconciler.core.functions import (
    CloudFrontFunctionConfig,
    CloudFrontFunctionStage,
    DesiredCloudFrontFunction,
    DesiredFunctions,
    DesiredLambdaFunction,
    LambdaVersion,
    ObservedCloudFrontFunction,
    ObservedFunctions,
    ObservedLambdaFunction,
    code_hash,
    matching_version,
    plan_functions,
)
from reconciler.core.model import Action, Address, Change, Phase, ResourceKind

KVS = "arn:aws:cloudfront::123456789012:key-value-store/aaaa"
ROLE = "arn:aws:iam::123456789012:role/edge"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router"

CF = DesiredCloudFrontFunction("tier-router", b"function handler(e){return e.request}", kvs_arn=KVS)
LAMBDA = DesiredLambdaFunction(
    "tenant-router", "SHA-NEW=", "nodejs20.x", "index.handler", ROLE, keep_versions=2
)


def stage(fn: DesiredCloudFrontFunction, etag: str = "E1") -> CloudFrontFunctionStage:
    return CloudFrontFunctionStage(fn.code_sha256, fn.config, etag)


def cf_plan(seen: ObservedCloudFrontFunction, want: DesiredCloudFrontFunction = CF) -> list[Change]:
    return list(
        plan_functions(
            DesiredFunctions(cloudfront=(want,)), ObservedFunctions(cloudfront={want.name: seen})
        )
    )


def version(n: int, sha: str = "SHA-OLD=", fn: DesiredLambdaFunction = LAMBDA) -> LambdaVersion:
    return LambdaVersion(n, f"{FN_ARN}:{n}", sha, fn.config)


def lambda_seen(
    *versions: LambdaVersion, sha: str = "SHA-NEW=", **kw: object
) -> ObservedLambdaFunction:
    return ObservedLambdaFunction(
        LAMBDA.name, exists=True, latest_sha256=sha, latest_config=LAMBDA.config,
        last_update_status="Successful", versions=versions, arn=FN_ARN, **kw,
    )  # fmt: skip


def lambda_plan(
    seen: ObservedLambdaFunction,
    want: DesiredLambdaFunction = LAMBDA,
    associated: frozenset[str] = frozenset(),
) -> list[Change]:
    return list(
        plan_functions(
            DesiredFunctions(lambdas=(want,)),
            ObservedFunctions(lambdas={want.name: seen}, associated_version_arns=associated),
        )
    )


def actions(changes: list[Change]) -> list[tuple[Action, str | None]]:
    return [(c.action, c.address.key) for c in changes]


# ------------------------------------------------------------------ CloudFront Functions


def test_cf_missing_function_is_created_then_published() -> None:
    changes = cf_plan(ObservedCloudFrontFunction(CF.name))
    assert actions(changes) == [(Action.CREATE, None), (Action.PUBLISH, None)]
    assert all(c.phase is Phase.FUNCTIONS for c in changes)
    assert changes[0].address == Address(ResourceKind.CLOUDFRONT_FUNCTION, "tier-router")
    assert changes[0].after == {
        "code": code_hash(CF.code)[:12],
        "runtime": "cloudfront-js-2.0",
        "comment": "",
        "keyValueStore": KVS,
    }
    assert changes[1].reason == "never published (no LIVE stage)"


def test_cf_unchanged_plans_nothing() -> None:
    assert cf_plan(ObservedCloudFrontFunction(CF.name, stage(CF), stage(CF, "L1"))) == []


def test_cf_code_change_updates_and_publishes_with_short_hashes() -> None:
    old = replace(CF, code=b"function handler(e){return 1}")
    changes = cf_plan(ObservedCloudFrontFunction(CF.name, stage(old), stage(old)))
    assert actions(changes) == [(Action.UPDATE, None), (Action.PUBLISH, None)]
    update = changes[0]
    assert update.before["code"] == old.code_sha256[:12]
    assert update.after["code"] == CF.code_sha256[:12]
    assert update.reason == "DEVELOPMENT code differs"


def test_cf_each_config_field_is_drift() -> None:
    for changed in (
        replace(CF, comment="other"),
        replace(CF, runtime="cloudfront-js-1.0", kvs_arn=None),
        replace(CF, kvs_arn=KVS.replace("aaaa", "bbbb")),
        replace(CF, kvs_arn=None),
    ):
        seen = ObservedCloudFrontFunction(CF.name, stage(changed), stage(changed))
        assert [c.action for c in cf_plan(seen)] == [Action.UPDATE, Action.PUBLISH], changed


def test_cf_development_ahead_of_live_only_publishes() -> None:
    # A pass updated DEVELOPMENT and then failed its tests: no second update, a publish.
    old = replace(CF, code=b"old")
    changes = cf_plan(ObservedCloudFrontFunction(CF.name, stage(CF), stage(old)))
    assert actions(changes) == [(Action.PUBLISH, None)]
    assert changes[0].reason == "LIVE code differs"


def test_cf_reverted_development_updates_but_live_already_matches() -> None:
    changes = cf_plan(ObservedCloudFrontFunction(CF.name, stage(replace(CF, code=b"x")), stage(CF)))
    assert actions(changes) == [(Action.UPDATE, None)]


# ------------------------------------------------------------------------- Lambda@Edge


def test_lambda_missing_is_created_and_published() -> None:
    changes = lambda_plan(ObservedLambdaFunction(LAMBDA.name))
    assert actions(changes) == [(Action.CREATE, None), (Action.PUBLISH, None)]
    assert changes[0].after["code"] == "SHA-NEW="[:12]
    assert changes[0].after["role"] == ROLE


def test_lambda_unchanged_plans_nothing() -> None:
    assert lambda_plan(lambda_seen(version(1, "SHA-NEW="))) == []


def test_lambda_code_change_updates_and_publishes() -> None:
    changes = lambda_plan(lambda_seen(version(1), sha="SHA-OLD="))
    assert actions(changes) == [(Action.UPDATE, None), (Action.PUBLISH, None)]
    assert changes[0].reason == "$LATEST code differs"
    assert changes[0].before["code"] == "SHA-OLD="


def test_lambda_latest_already_updated_only_publishes() -> None:
    assert actions(lambda_plan(lambda_seen(version(1)))) == [(Action.PUBLISH, None)]


def test_lambda_config_change_needs_a_new_version_even_with_same_code() -> None:
    want = replace(LAMBDA, memory=256)
    changes = lambda_plan(lambda_seen(version(1, "SHA-NEW=")), want)
    assert actions(changes) == [(Action.UPDATE, None), (Action.PUBLISH, None)]
    assert changes[0].reason == "$LATEST configuration differs"


def test_lambda_failed_last_update_is_sent_again() -> None:
    seen = replace(lambda_seen(version(1, "SHA-NEW=")), last_update_status="Failed")
    assert actions(lambda_plan(seen)) == [(Action.UPDATE, None)]


def test_lambda_older_published_version_with_desired_code_is_reused() -> None:
    # Rolling back to code that version 1 already has: no new version is needed.
    seen = lambda_seen(version(1, "SHA-NEW="), version(2, "SHA-OLD="), sha="SHA-OLD=")
    assert actions(lambda_plan(seen)) == [(Action.UPDATE, None)]
    assert matching_version(LAMBDA, seen) == version(1, "SHA-NEW=")


def test_cleanup_keeps_newest_counting_the_version_being_published() -> None:
    seen = lambda_seen(version(1), version(2), version(3), sha="SHA-OLD=")
    changes = lambda_plan(seen)  # keep 2: the new one + version 3
    assert actions(changes) == [
        (Action.UPDATE, None),
        (Action.PUBLISH, None),
        (Action.DELETE, "1"),
        (Action.DELETE, "2"),
    ]
    deletes = [c for c in changes if c.action is Action.DELETE]
    assert all(c.phase is Phase.CLEANUP for c in deletes)
    assert deletes[0].before == {"version": 1, "arn": f"{FN_ARN}:1", "code": "SHA-OLD="}


def test_cleanup_never_deletes_an_associated_version() -> None:
    seen = lambda_seen(version(1), version(2), version(3), version(4, "SHA-NEW="))
    changes = lambda_plan(seen, associated=frozenset({f"{FN_ARN}:1"}))
    assert actions(changes) == [(Action.DELETE, "2")]


def test_cleanup_never_deletes_the_declared_version() -> None:
    seen = lambda_seen(version(1, "SHA-NEW="), version(2), version(3), sha="SHA-NEW=")
    # keep_versions=1 keeps version 3 (newest); version 1 is older but is what the wiring
    # uses (a rollback), so only version 2 goes.
    assert actions(lambda_plan(seen, replace(LAMBDA, keep_versions=1))) == [(Action.DELETE, "2")]


def test_cleanup_orders_versions_numerically() -> None:
    seen = lambda_seen(*(version(n) for n in (9, 10, 11)), version(12, "SHA-NEW="))
    deletes = [c.address.key for c in lambda_plan(seen, replace(LAMBDA, keep_versions=1))]
    assert deletes == ["9", "10", "11"]


# ------------------------------------------------------------------------ the whole set


def test_plan_orders_functions_before_cleanup_and_is_deterministic() -> None:
    desired = DesiredFunctions(cloudfront=(CF,), lambdas=(LAMBDA,))
    observed = ObservedFunctions(
        lambdas={LAMBDA.name: lambda_seen(version(1), version(2), version(3), sha="SHA-OLD=")}
    )
    changes = plan_functions(desired, observed)
    assert changes == plan_functions(desired, observed)
    phases = [c.phase for c in changes]
    assert phases == sorted(phases)
    assert [c.address.kind for c in changes if c.phase is Phase.FUNCTIONS] == [
        ResourceKind.CLOUDFRONT_FUNCTION,
        ResourceKind.CLOUDFRONT_FUNCTION,
        ResourceKind.LAMBDA_FUNCTION,
        ResourceKind.LAMBDA_FUNCTION,
    ]


def test_observed_versions_name_the_etag_writes_need() -> None:
    observed = ObservedFunctions(
        cloudfront={
            CF.name: ObservedCloudFrontFunction(CF.name, stage(CF, "DEV"), stage(CF, "LIVE"))
        },
        lambdas={LAMBDA.name: lambda_seen(version(4, "SHA-NEW="))},
    )
    assert observed_versions(observed) == (
        ("cloudfront_function:tier-router", "DEV"),
        ("lambda_function:tenant-router", "SHA-NEW=#4"),
    )


def test_config_value_shown_in_plan() -> None:
    assert CloudFrontFunctionConfig().shown() == {
        "runtime": "cloudfront-js-2.0",
        "comment": "",
        "keyValueStore": None,
    }


def test_core_functions_module_imports_no_aws_sdk() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, reconciler.core.functions; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'moto')]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_a_package_with_the_same_files_under_another_codesha256_is_the_same_code() -> None:
    """An adopted function zipped by hand: other zip bytes, the same files (issue 15.2)."""
    want = replace(LAMBDA, content_digest="FILES-1")
    hand = replace(version(1, sha="HAND-ZIP="), content_digest="FILES-1")
    seen = ObservedLambdaFunction(
        want.name,
        exists=True,
        latest_sha256="HAND-ZIP=",
        latest_config=want.config,
        latest_content_digest="FILES-1",
        versions=(hand,),
        arn=FN_ARN,
    )
    assert lambda_plan(seen, want) == []
    assert matching_version(want, seen) == hand
    edited = replace(want, content_digest="FILES-2", zip_sha256="SHA-NEW=")
    assert [c.action for c in lambda_plan(seen, edited)] == [Action.UPDATE, Action.PUBLISH]
