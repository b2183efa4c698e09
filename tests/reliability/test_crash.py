"""SIGKILL `reconciler apply` mid-apply, then one fresh pass: nothing lost, nothing wrong.

A sample of the crash trials (tests/reliability/crash.py): ten fixed kill points chosen
where a crash hurts most (inside a batch chain, right after a write landed unanswered,
between a publish and the wiring, inside a prune). `benchmarks/crash_trials.py` runs 50+
random ones and prints the table of docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.sandbox.server import SandboxServer
from tests.reliability import crash

# (change set, strategy, which write: an index into the uninterrupted apply's writes, or
# the (service, operation, occurrence) of it, and the phase the kill must land in)
POINTS = [
    ("initial apply", "before-write", ("cloudfront-keyvaluestore", "UpdateKeys", 2), "data"),
    ("initial apply", "after-write", ("lambda", "PublishVersion", 1), "publish->wiring"),
    ("KVS 150 keys", "after-write", ("cloudfront-keyvaluestore", "UpdateKeys", 2), "data"),
    ("KVS 150 keys", "before-write", ("cloudfront-keyvaluestore", "UpdateKeys", 3), "data"),
    ("table 100 items", "before-write", ("dynamodb", "BatchWriteItem", 2), "data"),
    ("table 100 items", "after-write", ("dynamodb", "BatchWriteItem", 3), "data"),
    ("function edits", "after-write", ("cloudfront", "UpdateFunction", 1), "functions"),
    ("function edits", "before-write", ("cloudfront", "UpdateDistribution", 1), "publish->wiring"),
    ("prune 30+30", "before-write", ("cloudfront-keyvaluestore", "UpdateKeys", 1), "prune"),
    ("prune 30+30", "after-write", ("dynamodb", "BatchWriteItem", 2), "prune"),
]
pytestmark = pytest.mark.slow  # about 40 s: 11 reconciler subprocesses killed and recovered


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own: the trials reset it many times."""
    with SandboxServer() as s:
        yield s


@pytest.fixture(scope="module")
def prepared(
    server: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, crash.Prepared]:
    sandbox = crash.Sandbox(server)
    workdir = tmp_path_factory.mktemp("crash")
    return {cs.name: crash.prepare(sandbox, cs, workdir) for cs in crash.CHANGE_SETS}


def _index(prepared: crash.Prepared, service: str, operation: str, occurrence: int) -> int:
    matching = [
        i for i, w in enumerate(prepared.writes) if (w.service, w.operation) == (service, operation)
    ]
    assert len(matching) >= occurrence, [f"{w.service}.{w.operation}" for w in prepared.writes]
    return matching[occurrence - 1]


def test_the_change_sets_cross_batches(prepared: dict[str, crash.Prepared]) -> None:
    """The trials are only meaningful if the applies are several writes long."""
    ops = {name: [f"{w.service}.{w.operation}" for w in p.writes] for name, p in prepared.items()}
    assert ops["initial apply"].count("cloudfront-keyvaluestore.UpdateKeys") == 3
    assert ops["initial apply"].count("dynamodb.BatchWriteItem") == 5
    assert ops["KVS 150 keys"] == ["cloudfront-keyvaluestore.UpdateKeys"] * 3
    assert ops["table 100 items"] == ["dynamodb.BatchWriteItem"] * 4
    assert ops["function edits"] == [
        "cloudfront.UpdateFunction",
        "cloudfront.PublishFunction",
        "lambda.UpdateFunctionCode",
        "lambda.PublishVersion",
        "cloudfront.UpdateDistribution",
    ]
    assert [crash.phase_of(w) for w in prepared["prune 30+30"].writes] == ["prune"] * 3


@pytest.mark.parametrize(
    ("change_set", "strategy", "write", "phase"),
    POINTS,
    ids=[f"{p[0]}-{p[1]}-{p[2][1]}{p[2][2]}" for p in POINTS],
)
def test_killed_apply_is_finished_by_the_next_pass(
    server: SandboxServer,
    prepared: dict[str, crash.Prepared],
    change_set: str,
    strategy: str,
    write: tuple[str, str, int],
    phase: str,
) -> None:
    p = prepared[change_set]
    index = _index(p, *write)
    result = crash.run_trial(crash.Sandbox(server), p, crash.KillPlan(strategy, write_index=index))
    assert result.killed, result
    assert result.phase == phase, result
    assert result.violations == [], result
    assert result.recovery in ("applied", "no_changes"), result


def test_a_random_delay_kill(server: SandboxServer, prepared: dict[str, crash.Prepared]) -> None:
    """A kill at a time, not at a request: may land in local work (Node tests, zip build)."""
    p = prepared["function edits"]
    result = crash.run_trial(
        crash.Sandbox(server), p, crash.KillPlan("delay", delay=p.apply_seconds / 2)
    )
    assert result.violations == [], result


def test_the_invariants_catch_a_lost_key(
    server: SandboxServer, prepared: dict[str, crash.Prepared]
) -> None:
    """The checker is not vacuous: a declared key deleted behind its back is reported."""
    sandbox = crash.Sandbox(server)
    p = prepared["KVS 150 keys"]
    crash.setup_baseline(sandbox, p)
    config = crash.distribution_config(sandbox)
    versions = crash.lambda_versions(sandbox)
    from reconciler.engine import Outcome

    crash.reconciler_for(p.after_repo, sandbox.target).run_pass(dry_run=False)
    kvs = sandbox.client("cloudfront-keyvaluestore")
    arn = crash.store_arn(sandbox)
    kvs.update_keys(
        KvsARN=arn,
        IfMatch=kvs.describe_key_value_store(KvsARN=arn)["ETag"],
        Deletes=[{"Key": "n05"}],
    )
    problems = crash.check_invariants(sandbox, p, Outcome.APPLIED, (), config, versions)
    assert any("second plan not empty" in x for x in problems), problems
    assert any("declared keys missing" in x for x in problems), problems
    assert any("delete sent for declared keys ['n05']" in x for x in problems), problems
