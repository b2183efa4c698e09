"""The lease against the emulated DynamoDB over HTTP, with clocks the test moves.

Wall clock (written into the item, compared by the condition) and monotonic clock (the
local step-down deadline) are both injected: expiry and takeover are decided by the
conditional writes on the wire, not by sleeping.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from reconciler.daemon.leader import (
    LeaderElector,
    LeaderState,
    LeaseTable,
    default_lease_name,
    holder_identity,
)
from reconciler.daemon.worker import Worker, WorkerConfig
from tests.conftest import Aws
from tests.daemon.scripted import ScriptedRunner

TABLE = "reconciler-leases"
NAME = "reconciler-test"
DURATION = 9.0


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now


def lease(aws: Aws, holder: str) -> LeaseTable:
    return LeaseTable(aws.target, TABLE, NAME, holder)


@pytest.fixture
def a(aws: Aws) -> LeaseTable:
    table = lease(aws, "replica-a")
    table.ensure_table()
    return table


def test_table_is_created_on_demand_pay_per_request_with_ttl(aws: Aws) -> None:
    table = lease(aws, "replica-a")
    assert table.ensure_table() is True
    assert table.ensure_table() is False  # the second replica finds it
    ddb = aws.client("dynamodb")
    described = ddb.describe_table(TableName=TABLE)["Table"]
    assert described["KeySchema"] == [{"AttributeName": "lease", "KeyType": "HASH"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_acquire_writes_holder_expiry_and_a_later_ttl(aws: Aws, a: LeaseTable) -> None:
    attempt = a.acquire(1000.0, DURATION)
    assert attempt.held and attempt.current is not None
    assert attempt.current.expires_at == 1000.0 + DURATION
    item = aws.client("dynamodb").get_item(TableName=TABLE, Key={"lease": {"S": NAME}})["Item"]
    assert item["holder"] == {"S": "replica-a"}
    assert float(item["expires_at"]["N"]) == 1009.0
    # TTL only collects garbage, long after the condition decides: never before expiry.
    assert int(item["ttl"]["N"]) > 1009 + 3600


def test_a_valid_lease_is_not_taken_and_the_holder_is_reported(aws: Aws, a: LeaseTable) -> None:
    b = lease(aws, "replica-b")
    assert a.acquire(1000.0, DURATION).held
    contended = b.acquire(1008.9, DURATION)  # 0.1 s before expiry
    assert not contended.held
    assert contended.current is not None and contended.current.holder == "replica-a"
    assert not b.renew(1008.9, DURATION).held  # renew is for the holder only
    assert a.renew(1005.0, DURATION).held
    assert not b.acquire(1013.0, DURATION).held  # the renewal moved the expiry to 1014
    assert a.acquire(1013.0, DURATION).held  # re-acquiring your own lease is fine


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(
    aws: Aws, a: LeaseTable
) -> None:
    b = lease(aws, "replica-b")
    assert a.acquire(1000.0, DURATION).held
    assert b.acquire(1009.5, DURATION).held
    lost = a.renew(1009.6, DURATION)
    assert not lost.held and lost.current is not None and lost.current.holder == "replica-b"
    assert b.read() is not None and b.read().holder == "replica-b"  # type: ignore[union-attr]


def test_release_deletes_only_your_own_lease(aws: Aws, a: LeaseTable) -> None:
    b = lease(aws, "replica-b")
    assert a.acquire(1000.0, DURATION).held
    assert b.release() is False
    assert a.read() is not None
    assert a.release() is True
    assert a.read() is None
    assert b.acquire(1001.0, DURATION).held  # no wait for the expiry after a release


# --- the elector: deadlines on the local clock -------------------------------------


@dataclass
class Recorder:
    states: list[LeaderState]

    def __call__(self, state: LeaderState) -> None:
        self.states.append(state)


def elector(table: LeaseTable, wall: Clock, mono: Clock) -> tuple[LeaderElector, Recorder]:
    seen = Recorder([])
    return LeaderElector(table, DURATION, seen, wall=wall, mono=mono), seen


def test_elector_acquires_renews_every_third_and_may_write_until_two_thirds(
    aws: Aws, a: LeaseTable
) -> None:
    wall, mono = Clock(1000.0), Clock(50.0)
    e, seen = elector(a, wall, mono)
    assert not e.may_write()
    assert e.step() == pytest.approx(DURATION / 3)
    assert e.may_write() and seen.states[-1].reason == "LeaseAcquired"
    mono.now += 5.9  # deadline = 50 + 9 - 3 = 56
    assert e.may_write()
    mono.now += 0.2
    assert not e.may_write(), "no renewal: the leader stops a third before expiry"


def test_failed_renewals_step_down_before_the_lease_expires_for_others(
    aws: Aws, a: LeaseTable
) -> None:
    wall, mono = Clock(1000.0), Clock(50.0)
    e, seen = elector(a, wall, mono)
    e.step()
    assert aws.server.hooks is not None
    fault = aws.server.hooks.inject("dynamodb", kind="unavailable")  # every call
    wall.now, mono.now = 1003.0, 53.0
    retry_in = e.step()  # the renew fails (503 after botocore's retry): still leader
    assert e.may_write() and 0 < retry_in <= DURATION / 6
    wall.now, mono.now = 1006.0, 56.0  # the deadline
    e.step()
    assert not e.may_write()
    assert [s.reason for s in seen.states] == ["LeaseAcquired", "RenewFailed"]
    aws.server.hooks.remove(fault)
    # Others still see a valid lease for another third: nobody writes in between.
    b = lease(aws, "replica-b")
    assert not b.acquire(1008.9, DURATION).held
    assert b.acquire(1009.1, DURATION).held


def test_a_lost_lease_is_reported_and_writing_stops(aws: Aws, a: LeaseTable) -> None:
    wall, mono = Clock(1000.0), Clock(50.0)
    e, seen = elector(a, wall, mono)
    e.step()
    b = lease(aws, "replica-b")
    assert b.acquire(1010.0, DURATION).held  # e.g. a paused process: its lease expired
    wall.now, mono.now = 1003.0, 53.0  # ... and the old leader's clock did not see it
    e.step()
    assert not e.may_write()
    assert seen.states[-1].reason == "LeaseLost" and "replica-b" in seen.states[-1].message


def test_a_follower_retries_just_after_the_lease_it_saw_expires(aws: Aws, a: LeaseTable) -> None:
    assert a.acquire(1000.0, DURATION).held
    b = lease(aws, "replica-b")
    wall, mono = Clock(1008.0), Clock(0.0)
    e, seen = elector(b, wall, mono)
    assert e.step() == pytest.approx(1.05)  # sooner than the renew period (3 s)
    assert seen.states[-1].reason == "Follower" and not e.may_write()
    wall.now += 1.05
    e.step()
    assert e.may_write() and seen.states[-1].reason == "LeaseAcquired"


def test_stop_releases_the_lease(aws: Aws, a: LeaseTable) -> None:
    e, _ = elector(a, Clock(1000.0), Clock(0.0))
    e.step()
    e.stop()
    assert a.read() is None and not e.may_write()


def test_holder_identity_and_default_name() -> None:
    one, two = holder_identity(), holder_identity()
    assert one != two and one.rsplit("-", 2)[1].isdigit()
    assert default_lease_name("us-east-1", "/srv/routes") == default_lease_name(
        "us-east-1", "/srv/routes"
    )
    assert default_lease_name("us-east-1", "/srv/routes") != default_lease_name(
        "eu-west-1", "/srv/routes"
    )


# --- the worker runs passes only while the gate is open ------------------------------


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    yield threading.Event()


def test_a_follower_runs_no_pass_and_a_new_leader_runs_one_at_once(
    gate: threading.Event,
) -> None:
    runner = ScriptedRunner()
    config = WorkerConfig(debounce=0.02, debounce_max=0.1, resync_interval=0.05)
    worker = Worker(runner, config, rng=random.Random(1), may_write=gate.is_set)
    worker.start()
    try:
        worker.notify_change("x")
        assert not worker.wait_for_passes(1, 0.4), "a follower must not run passes"
        assert runner.calls == []
        gate.set()
        worker.leadership_changed(True)
        assert worker.wait_for_passes(1, 5)
        assert worker.status.snapshot()["lastPass"]["trigger"] == "startup"
        gate.clear()
        worker.leadership_changed(False)
        worker.wait_idle(5)
        calls = len(runner.calls)
        assert not worker.wait_for_passes(calls + 1, 0.3)  # resync due, but not leading
        assert worker.status.condition("Reconciling").reason == "Standby"
    finally:
        worker.stop()
        worker.join(5)
