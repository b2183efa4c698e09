"""Fault matrix on the wire: whole passes over the example routes under injected faults.

Every case converges, or stops with a classified error (reconciler.aws.errors: retryable,
conflict, fatal) in bounded time; and writes what should be written once exactly once
(successful writes counted in the sandbox's wire log), or says why a second identical
write is harmless. Where it matters, what the pass reports its adapters did
(`PassReport.calls`: one per adapter call, whatever botocore retried below it) is checked
against the wire too. The first pass of a case is the initial apply from an empty
(seeded) account: 9 writes when nothing goes wrong.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import THROTTLE_RETRY_AFTER, ErrorClass
from reconciler.aws.lambda_edge import LambdaEdgeAdapter
from reconciler.engine import MAX_CONFLICT_REPLANS, Outcome, PassReport, Reconciler
from reconciler.sandbox.hooks import WireCall, kvs_race
from reconciler.sandbox.switches import NEVER
from tests.reliability import crash
from tests.reliability.wirefaults import land_then_reset, ok_writes, statuses

pytestmark = pytest.mark.usefixtures("fast_retries")

CLEAN = Counter(
    {
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
)
EDIT_WRITES = Counter(
    {
        "lambda.UpdateFunctionCode": 1,
        "lambda.PublishVersion": 1,
        "cloudfront.UpdateDistribution": 1,
    }
)


def hooks_of(aws: Any) -> Any:
    return aws.server.hooks


def operations(writes: Counter[str]) -> dict[str, int]:
    """Counts of "service.Operation" by operation, as PassReport.calls names them."""
    out: Counter[str] = Counter()
    for key, n in writes.items():
        out[key.split(".", 1)[1]] += n
    return dict(+out)


def calls(report: PassReport) -> dict[str, int]:
    return dict(report.calls)


def timed(reconciler: Reconciler, dry_run: bool = False) -> tuple[Any, float]:
    started = time.monotonic()
    report = reconciler.run_pass(dry_run=dry_run)
    return report, time.monotonic() - started


def assert_converged(reconciler: Reconciler) -> None:
    again = reconciler.run_pass(dry_run=True)
    shown = [str(c.address) for c in (again.plan.changes if again.plan else ())]
    assert again.outcome is Outcome.NO_CHANGES, (again.outcome, shown, again.errors)


def versions(aws: Any) -> list[str]:
    lam = aws.client("lambda")
    return [
        v["Version"]
        for v in lam.list_versions_by_function(FunctionName=crash.LAMBDA)["Versions"]
        if v["Version"] != "$LATEST"
    ]


def edit_lambda(repo: Path) -> None:
    handler = repo / "edge_functions/tenant_router/index.mjs"
    handler.write_text(handler.read_text() + "\n// edited under faults\n")


def converge_then_edit(aws: Any, reconciler: Reconciler, repo: Path) -> None:
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    edit_lambda(repo)
    hooks_of(aws).reset()


# --- throttling, 5xx, resets, latency -----------------------------------------------------


def test_throttling_on_30_percent_of_every_service_converges_with_each_write_once(
    aws: Any, reconciler: Reconciler
) -> None:
    hooks = hooks_of(aws)
    hooks.reset(seed=30)
    for service in crash.SERVICES:
        hooks.inject(service, kind="throttle", probability=0.3)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.APPLIED, report.errors
    fired = sum(f["fired"] for f in hooks.faults())
    assert fired >= 10, hooks.faults()  # the faults really hit the pass
    assert ok_writes(hooks) == CLEAN
    assert calls(report) == operations(CLEAN)
    assert elapsed < 60
    # Still throttled: the converged pass reads through the throttles and writes nothing.
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.NO_CHANGES, again.errors
    assert ok_writes(hooks) == CLEAN


def test_5xx_bursts_on_every_service_are_retried(aws: Any, reconciler: Reconciler) -> None:
    hooks = hooks_of(aws)
    for service in ("cloudfront", "cloudfront-keyvaluestore", "dynamodb", "lambda"):
        hooks.inject(service, kind="internal-error", count=2)  # the first two calls
        hooks.inject(service, kind="unavailable", count=2, after=2)  # then two 503s
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert all(f["fired"] == 2 for f in hooks.faults()), hooks.faults()
    assert ok_writes(hooks) == CLEAN
    assert elapsed < 30
    assert_converged(reconciler)


def test_a_5xx_burst_beyond_the_retry_budget_fails_retryable_and_the_next_pass_wires_without_republishing(
    aws: Any, reconciler: Reconciler
) -> None:
    hooks = hooks_of(aws)
    attempts = reconciler.target.max_attempts
    hooks.inject("cloudfront", "UpdateDistribution", kind="unavailable", count=attempts)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED
    assert report.error_class is ErrorClass.RETRYABLE and report.reason == "ServiceUnavailable"
    assert report.retry_after is None  # a 5xx asks for no more room than the daemon's back-off
    assert any("UpdateDistribution" in e and "ServiceUnavailable" in e for e in report.errors)
    assert statuses(hooks, "cloudfront", "UpdateDistribution") == [503] * attempts
    assert elapsed < 30
    # What landed before the failure is reported, and not redone by the next pass.
    assert {c.address.kind.value for c in report.applied} >= {
        "kvs_entry",
        "table_item",
        "lambda_function",
    }
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.APPLIED, again.errors
    assert ok_writes(hooks) == CLEAN  # one PublishVersion, one successful UpdateDistribution
    assert versions(aws) == ["1"]
    assert_converged(reconciler)


def test_resets_before_any_response_are_retried_and_each_write_lands_once(
    aws: Any, reconciler: Reconciler
) -> None:
    hooks = hooks_of(aws)
    for key in CLEAN:
        service, operation = key.split(".")
        hooks.inject(service, operation, kind="reset", count=1)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert ok_writes(hooks) == CLEAN
    for key in CLEAN:
        service, operation = key.split(".")
        assert statuses(hooks, service, operation)[0] is None, key  # the reset, then the retry
    assert_converged(reconciler)


# (write, successful copies of it on the wire, why) when the write lands and the answer is
# lost: botocore retries the same request on a new connection.
LANDED_THEN_RESET = [
    ("cloudfront.CreateKeyValueStore", 1, "retry: EntityAlreadyExists -> re-plan"),
    (
        "cloudfront-keyvaluestore.UpdateKeys",
        1,
        "retry: stale IfMatch 409 -> re-plan, keys already there",
    ),
    ("dynamodb.CreateTable", 1, "retry: ResourceInUseException -> re-plan"),
    ("dynamodb.BatchWriteItem", 2, "retry: the same puts again (idempotent)"),
    ("cloudfront.CreateFunction", 1, "retry: FunctionAlreadyExists -> re-plan -> publish only"),
    ("cloudfront.PublishFunction", 2, "retry: LIVE := DEVELOPMENT again (same code)"),
    ("lambda.CreateFunction", 1, "retry: 'Function already exist' -> re-plan -> publish only"),
    ("lambda.PublishVersion", 2, "retry: Lambda returns the version it just made (no new one)"),
    ("cloudfront.UpdateDistribution", 1, "retry: stale IfMatch 412 -> re-read, nothing to write"),
]


@pytest.mark.parametrize(
    ("write", "copies", "why"), LANDED_THEN_RESET, ids=[w for w, _, _ in LANDED_THEN_RESET]
)
def test_a_reset_after_the_write_landed_converges_in_the_same_pass(
    aws: Any, reconciler: Reconciler, write: str, copies: int, why: str
) -> None:
    hooks = hooks_of(aws)
    service, operation = write.split(".")
    hooks.inject(service, operation, kind="race", action=land_then_reset(aws.server.port), count=1)
    hooks.inject(service, operation, kind="reset", count=1)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, (why, report.errors)
    assert ok_writes(hooks) == CLEAN + Counter({write: copies - 1}), why
    # The report counts adapter calls: a retry botocore made below the adapter is not a
    # second call; a write whose retry was refused (409/412/exists) raised in the adapter
    # and is not counted although it landed: the re-plan found it done.
    refused = Counter({write: 1}) if copies == 1 else Counter()
    assert calls(report) == operations(CLEAN - refused), why
    assert versions(aws) == ["1"]  # never a second version for one code change
    assert_converged(reconciler)


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        # retry with the old IfMatch: 412 -> re-plan -> DEVELOPMENT is right, publish only
        (
            "cloudfront.UpdateFunction",
            Counter({"cloudfront.UpdateFunction": 1, "cloudfront.PublishFunction": 1}),
        ),
        # retry: the same code again (idempotent), one version published
        ("lambda.UpdateFunctionCode", EDIT_WRITES + Counter({"lambda.UpdateFunctionCode": 1})),
    ],
)
def test_a_reset_after_a_code_update_landed(
    aws: Any, reconciler: Reconciler, repo: Path, write: str, expected: Counter[str]
) -> None:
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    if write.startswith("cloudfront"):
        code = repo / "edge_functions/tier_router/index.js"
        code.write_text(code.read_text() + "\n// edited\n")
    else:
        edit_lambda(repo)
    hooks = hooks_of(aws)
    hooks.reset()
    service, operation = write.split(".")
    hooks.inject(service, operation, kind="race", action=land_then_reset(aws.server.port), count=1)
    hooks.inject(service, operation, kind="reset", count=1)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert ok_writes(hooks) == expected
    assert len(versions(aws)) == (2 if service == "lambda" else 1)
    assert_converged(reconciler)


def test_high_latency_slows_the_pass_but_changes_nothing_else(
    aws: Any, reconciler: Reconciler
) -> None:
    hooks = hooks_of(aws)
    for service in ("cloudfront-keyvaluestore", "lambda", "dynamodb"):
        hooks.inject(service, kind="latency", delay=0.25)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.APPLIED, report.errors
    delayed = sum(f["fired"] for f in hooks.faults())
    assert elapsed >= 0.25 * delayed and delayed >= 8
    assert elapsed < 0.25 * delayed + 20
    assert ok_writes(hooks) == CLEAN


# --- races with a concurrent writer (409 / 412) -------------------------------------------


def test_kvs_update_keys_race_replans_once(aws: Any, reconciler: Reconciler, repo: Path) -> None:
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    tiers = repo / "routes/tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace(
            "premium: premium-api.example.com", "premium: gold-api.example.com"
        )
    )
    hooks = hooks_of(aws)
    hooks.reset()
    hooks.inject(
        "cloudfront-keyvaluestore",
        "UpdateKeys",
        kind="race",
        action=kvs_race({"premium": "racer-api.example.com", "racer-key": "racer.example.com"}),
        count=1,
    )
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert statuses(hooks, "cloudfront-keyvaluestore", "UpdateKeys") == [409, 200]
    entries = reconciler.adapters.kvs.observe(crash.STORE).entries
    assert entries["premium"] == "gold-api.example.com"
    assert "racer-key" not in entries  # prune: true, so the re-plan removed it
    assert_converged(reconciler)


def _other_writer(endpoint: str, change: Any) -> Any:
    """A race action: someone else's read-modify-write of the distribution."""
    cf = make_client("cloudfront", AwsTarget(endpoint_url=endpoint, max_attempts=1))
    busy = threading.Event()  # its own UpdateDistribution passes the same fault: no recursion

    def action(_call: WireCall) -> None:
        if busy.is_set():
            return
        busy.set()
        try:
            (summary,) = cf.list_distributions()["DistributionList"]["Items"]
            got = cf.get_distribution_config(Id=summary["Id"])
            config = got["DistributionConfig"]
            change(config)
            cf.update_distribution(Id=summary["Id"], IfMatch=got["ETag"], DistributionConfig=config)
        finally:
            busy.clear()

    return action


def test_update_distribution_race_rereads_and_keeps_the_other_writers_change(
    aws: Any, reconciler: Reconciler, repo: Path
) -> None:
    converge_then_edit(aws, reconciler, repo)
    hooks = hooks_of(aws)
    hooks.inject(
        "cloudfront",
        "UpdateDistribution",
        kind="race",
        action=_other_writer(aws.endpoint_url, lambda c: c.update(DefaultRootObject="racer.html")),
        count=1,
    )
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    # the other writer's 200, our 412, our re-read write's 200
    assert statuses(hooks, "cloudfront", "UpdateDistribution") == [200, 412, 200]
    config = crash.distribution_config(crash.Sandbox(aws.server))
    assert config["DefaultRootObject"] == "racer.html"  # not overwritten with our stale read
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    assert tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"].endswith(":2")
    assert ok_writes(hooks) == EDIT_WRITES + Counter({"cloudfront.UpdateDistribution": 1})
    assert_converged(reconciler)


def test_a_publish_function_between_plan_and_wiring(
    aws: Any, reconciler: Reconciler, repo: Path
) -> None:
    """Someone publishes other code to tier-router while we wire: their publish redeploys the
    distribution (new ETag), our UpdateDistribution gets 412: a conflict, so the pass
    re-observes and re-plans. The re-plan finds LIVE drifted from the declaration and
    publishes the declared code again, then wires: healed in the same pass."""
    converge_then_edit(aws, reconciler, repo)
    cf = make_client("cloudfront", AwsTarget(endpoint_url=aws.endpoint_url, max_attempts=1))
    declared = (repo / "edge_functions/tier_router/index.js").read_bytes()

    def publish_other_code(_call: WireCall) -> None:
        dev = cf.describe_function(Name="tier-router", Stage="DEVELOPMENT")
        config = dev["FunctionSummary"]["FunctionConfig"]
        config.pop("RuntimeVersion", None)
        etag = cf.update_function(
            Name="tier-router",
            IfMatch=dev["ETag"],
            FunctionConfig=config,
            FunctionCode=declared + b"\n// racer\n",
        )["ResponseMetadata"]["HTTPHeaders"]["etag"]
        cf.publish_function(Name="tier-router", IfMatch=etag)

    hooks = hooks_of(aws)
    hooks.inject(
        "cloudfront", "UpdateDistribution", kind="race", action=publish_other_code, count=1
    )
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    assert report.conflicts == 1
    assert statuses(hooks, "cloudfront", "UpdateDistribution") == [412, 200]
    # Ours: the Lambda edit (once: the re-plan finds its version), then the heal and the
    # wiring; the racer's UpdateFunction + PublishFunction land on the wire too.
    ours = EDIT_WRITES + Counter({"cloudfront.UpdateFunction": 1, "cloudfront.PublishFunction": 1})
    assert calls(report) == operations(ours)
    assert ok_writes(hooks) == ours + Counter(
        {"cloudfront.UpdateFunction": 1, "cloudfront.PublishFunction": 1}
    )
    live = cf.get_function(Name="tier-router", Stage="LIVE")["FunctionCode"].read()
    assert live == declared
    assert versions(aws) == ["1", "2"]
    assert_converged(reconciler)


def test_a_permanent_distribution_race_gives_up_bounded_with_a_conflict(
    aws: Any, reconciler: Reconciler, repo: Path
) -> None:
    converge_then_edit(aws, reconciler, repo)
    hooks = hooks_of(aws)
    counter = iter(range(1000))
    hooks.inject(
        "cloudfront",
        "UpdateDistribution",
        kind="race",
        action=_other_writer(
            aws.endpoint_url, lambda c: c.update(DefaultRootObject=f"r{next(counter)}.html")
        ),
    )
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED, report.errors
    assert report.error_class is ErrorClass.CONFLICT and report.reason == "PreconditionFailed"
    assert f"gave up after {MAX_CONFLICT_REPLANS} re-plans" in report.errors[0]
    # The adapter writes once and never re-reads: 1 + MAX_CONFLICT_REPLANS attempts in the
    # pass, each refused (412) right after the other writer's 200.
    attempts = 1 + MAX_CONFLICT_REPLANS
    assert statuses(hooks, "cloudfront", "UpdateDistribution") == [200, 412] * attempts
    assert report.conflicts == attempts
    # Re-plans find the version published by the first attempt: no second PublishVersion.
    assert ok_writes(hooks)["lambda.PublishVersion"] == 1
    assert calls(report) == {"UpdateFunctionCode": 1, "PublishVersion": 1}
    assert versions(aws) == ["1", "2"]
    assert elapsed < 30


def test_a_permanent_kvs_race_gives_up_bounded_with_a_conflict(
    aws: Any, reconciler: Reconciler, repo: Path
) -> None:
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    tiers = repo / "routes/tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace(
            "premium: premium-api.example.com", "premium: gold-api.example.com"
        )
    )
    hooks = hooks_of(aws)
    hooks.reset()
    hooks.inject(
        "cloudfront-keyvaluestore",
        "UpdateKeys",
        kind="race",
        action=kvs_race({"premium": "racer-api.example.com"}),
    )
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED, report.errors
    assert report.error_class is ErrorClass.CONFLICT and report.reason == "ConflictException"
    attempts = 1 + MAX_CONFLICT_REPLANS
    assert statuses(hooks, "cloudfront-keyvaluestore", "UpdateKeys") == [409] * attempts
    assert report.conflicts == attempts
    assert report.calls == () and report.applied == ()
    assert elapsed < 30


# --- errors that are not retried, or no longer --------------------------------------------


def test_throttling_beyond_the_retry_budget_fails_retryable_with_retry_after(
    aws: Any, reconciler: Reconciler
) -> None:
    """Every attempt botocore makes is throttled: the pass fails retryable and asks the
    daemon for at least THROTTLE_RETRY_AFTER seconds; what landed before stays and the next
    pass does only the rest."""
    hooks = hooks_of(aws)
    attempts = reconciler.target.max_attempts
    hooks.inject("cloudfront-keyvaluestore", "UpdateKeys", kind="throttle", count=attempts)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED, report.errors
    assert report.error_class is ErrorClass.RETRYABLE and report.reason == "ThrottlingException"
    assert report.retry_after == THROTTLE_RETRY_AFTER
    assert statuses(hooks, "cloudfront-keyvaluestore", "UpdateKeys") == [429] * attempts
    assert elapsed < 30
    # The ensure steps ran before the first data batch; nothing after it.
    assert calls(report) == {"CreateKeyValueStore": 1, "CreateTable": 1}
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.APPLIED, again.errors
    assert calls(again) == operations(
        CLEAN - Counter({"cloudfront.CreateKeyValueStore": 1, "dynamodb.CreateTable": 1})
    )
    assert ok_writes(hooks) == CLEAN
    assert_converged(reconciler)


ACCESS_DENIED = [
    # (service, operation, status, code): the denial as each service answers it
    ("cloudfront", "UpdateDistribution", 403, "AccessDenied"),
    ("lambda", "CreateFunction", 403, "AccessDeniedException"),
]


@pytest.mark.parametrize(
    ("service", "operation", "status", "code"), ACCESS_DENIED, ids=[a[1] for a in ACCESS_DENIED]
)
def test_access_denied_is_fatal_sent_once_and_the_next_pass_finishes(
    aws: Any, reconciler: Reconciler, service: str, operation: str, status: int, code: str
) -> None:
    """A missing permission: retrying cannot help, so neither botocore nor the pass does
    (one request); the pass fails fatal with the code as its reason. Once the permission
    is granted, the next pass does what is left."""
    hooks = hooks_of(aws)
    fault = hooks.inject(service, operation, kind="internal-error", status=status, code=code)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED, report.errors
    assert report.error_class is ErrorClass.FATAL and report.reason == code
    assert report.retry_after is None
    assert statuses(hooks, service, operation) == [status]
    assert elapsed < 30
    landed = ok_writes(hooks)
    assert landed[f"{service}.{operation}"] == 0
    assert calls(report) == operations(landed)
    hooks.remove(fault)
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.APPLIED, again.errors
    assert calls(again) == operations(CLEAN - landed)
    assert ok_writes(hooks) == CLEAN
    assert versions(aws) == ["1"]
    assert_converged(reconciler)


# --- a Lambda update stuck InProgress -----------------------------------------------------


def test_a_lambda_update_stuck_in_progress_times_out_retryable_and_publishes_nothing(
    aws: Any, reconciler: Reconciler, repo: Path, seeded: AwsTarget
) -> None:
    converge_then_edit(aws, reconciler, repo)
    reconciler.adapters.lambdas = LambdaEdgeAdapter(seeded, region="us-east-1", wait_seconds=4)
    hooks = hooks_of(aws)
    # The sandbox's Lambda reports an update InProgress until the switch says otherwise:
    # an update that never settles.
    hooks.switches.update(lambda_update_reads=NEVER)
    report, elapsed = timed(reconciler)
    assert report.outcome is Outcome.FAILED, report.errors
    assert report.error_class is ErrorClass.RETRYABLE and report.reason == "LambdaNotSettled"
    assert any("did not settle (function_updated)" in e for e in report.errors), report.errors
    assert elapsed < 15  # the shortened waiter (4 s), not a hang
    assert hooks.count("lambda", "PublishVersion") == 0
    assert hooks.count("cloudfront", "UpdateDistribution") == 0

    hooks.reset()  # default switches: the update settles, the next pass publishes and wires, once
    again = reconciler.run_pass(dry_run=False)
    assert again.outcome is Outcome.APPLIED, again.errors
    assert ok_writes(hooks) == Counter(
        {"lambda.PublishVersion": 1, "cloudfront.UpdateDistribution": 1}
    )
    assert versions(aws) == ["1", "2"]
    assert_converged(reconciler)
