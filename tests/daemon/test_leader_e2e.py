"""Two `reconciler run --leader-election` daemons on the same routes and the same emulated
AWS (`reconciler sandbox` in a third process): one writes, the other stands by; SIGKILL
the leader and the other takes over within the lease time; a third joins as a standby
and SIGTERM of the leader hands over at once (the lease is released).

One scenario, one sandbox: the first pass (functions tested and published) is the slow
part and happens once.

Writes are counted twice: per daemon (its /metrics) and on the wire (the sandbox's call
counts), so "exactly one writes" is not taken on the daemons' word.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from tests.daemon.test_e2e import StoreReader, copy_repo_layout, set_entry
from tests.support.daemon import DaemonProcess, repo_environment, wait_for
from tests.support.sandbox_process import read_exports

LEASE_SECONDS = 3.0
LEASE_TABLE = "reconciler-leases"
# Reads, and the lease's own calls (DynamoDB data writes of the pass are BatchWriteItem).
NOT_RECONCILE_WRITES = ("Get", "Describe", "List", "Test", "Scan", "Query", "BatchGet")
LEASE_CALLS = {"PutItem", "UpdateItem", "DeleteItem", "CreateTable", "UpdateTimeToLive"}


class Sandbox:
    """`python -m reconciler sandbox --port 0`: the emulated AWS both daemons share."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "--port", "0"],
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=(tmp / "sandbox.log").open("w"),
            text=True,
            env=repo_environment({"PYTHONUNBUFFERED": "1"}),
        )
        self.env = read_exports(self.proc, "SANDBOX_EDGE_ROLE_ARN")  # then it serves
        self.url = self.env["AWS_ENDPOINT_URL"]
        self.target = AwsTarget(endpoint_url=self.url, max_attempts=2)

    def reconcile_writes(self) -> int:
        with urllib.request.urlopen(f"{self.url}/_sandbox/calls", timeout=5) as response:
            calls: dict[str, dict[str, int]] = json.load(response)["calls"]
        return sum(
            n
            for service, ops in calls.items()
            for op, n in ops.items()
            if not op.startswith(NOT_RECONCILE_WRITES)
            and not (service == "dynamodb" and op in LEASE_CALLS)
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


class ElectedDaemon(StoreReader, DaemonProcess):
    """A daemon against an external endpoint with leader election on (no --sandbox); the
    caller waits for it (wait_started) once every replica is started."""

    def __init__(self, tmp: Path, name: str, sandbox: Sandbox, routes: Path) -> None:
        workdir = tmp / name
        workdir.mkdir()
        super().__init__(
            workdir,
            "--endpoint-url", sandbox.url, "--routes-dir", str(routes),
            "--state-dir", str(workdir / "state"),
            "--debounce", "200ms", "--resync-interval", "1h", "--backoff-max", "2s",
            "--leader-election", "--lease-duration", f"{LEASE_SECONDS}s",
            env=repo_environment(sandbox.env),
            wait=False,
        )  # fmt: skip
        self.target = sandbox.target

    def leader(self) -> bool:
        return bool(self.status().get("leader"))

    def writes(self) -> float:
        return self.metric("reconciler_changes_applied_total")


def converged_leader(daemons: list[ElectedDaemon]) -> ElectedDaemon | None:
    """The leader, once a pass of it converged (not merely elected)."""
    for d in daemons:
        if d.leader() and d.status()["lastSuccessTime"]:
            return d
    return None


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Path, Sandbox, Path, list[ElectedDaemon]]]:
    sandbox = Sandbox(tmp_path)
    routes = copy_repo_layout(tmp_path / "repo")
    daemons = [ElectedDaemon(tmp_path, n, sandbox, routes) for n in ("one", "two")]
    try:
        for d in daemons:
            d.wait_started()
        yield tmp_path, sandbox, routes, daemons
    finally:
        for d in daemons:
            d.kill()
        sandbox.stop()


def test_one_leader_writes_and_the_other_takes_over_after_sigkill(
    pair: tuple[Path, Sandbox, Path, list[ElectedDaemon]],
) -> None:
    tmp, sandbox, routes, daemons = pair
    leader = wait_for(lambda: converged_leader(daemons), 90, "a leader's first converged pass")
    follower = next(d for d in daemons if d is not leader)
    assert leader.passes(outcome="applied") == 1
    assert leader.get("/readyz")[0] == 200 and follower.get("/readyz")[0] == 200
    assert follower.status()["leader"] is False
    assert follower.metric("reconciler_leader") == 0 and leader.metric("reconciler_leader") == 1
    assert leader.condition("Leader")["status"] == "True"
    assert (
        follower.condition("Leader")["reason"],
        follower.condition("Reconciling")["reason"],
    ) == (
        "Follower",
        "Standby",
    )
    assert (
        follower.status()["leaderElection"]["currentHolder"]
        == (leader.status()["leaderElection"]["holder"])
    )

    # An edit: both daemons see it, only the leader writes (its metrics, and the wire).
    wait_for(leader.idle, 30, "idle")
    wire_before, leader_before = sandbox.reconcile_writes(), leader.writes()
    set_entry(routes, "premium", "premium-leader.example.com")
    wait_for(lambda: leader.kvs_value("premium") == "premium-leader.example.com", 15, "edit")
    wait_for(leader.idle, 30, "idle")
    assert leader.writes() - leader_before == 1
    assert sandbox.reconcile_writes() - wire_before == leader.status()["lastPass"]["writeCalls"]
    assert follower.passes() == 0 and follower.writes() == 0
    assert follower.status()["lastPass"] is None

    # SIGKILL: no release, the lease has to expire. Takeover = kill -> the new leader's
    # first pass finished (it finds nothing to do: level-triggered, the old one converged).
    killed_at = time.monotonic()
    leader.kill()
    wait_for(follower.leader, LEASE_SECONDS + 3, "the follower to take the lease")
    acquired = time.monotonic() - killed_at
    wait_for(lambda: follower.status()["lastPass"], 30, "the new leader's first pass")
    first_pass = time.monotonic() - killed_at
    print(
        f"\ntakeover with a {LEASE_SECONDS:.0f}s lease: lease acquired {acquired:.2f}s "
        f"after SIGKILL, first pass finished {first_pass:.2f}s after SIGKILL"
    )
    assert acquired <= LEASE_SECONDS + LEASE_SECONDS / 3 + 0.5
    assert follower.status()["lastPass"]["outcome"] == "no_changes"
    assert follower.status()["lastPass"]["trigger"] == "startup"

    # The new leader writes the next edit.
    set_entry(routes, "premium", "premium-takeover.example.com")
    wait_for(lambda: follower.kvs_value("premium") == "premium-takeover.example.com", 15, "edit")
    assert follower.writes() == 1

    # A third replica joins (a rolling deploy): ready at once as a standby. SIGTERM of
    # the leader releases the lease, so the handover does not wait for the expiry.
    third = ElectedDaemon(tmp, "three", sandbox, routes)
    daemons.append(third)
    third.wait_started()
    wait_for(lambda: third.status()["leaderElection"]["currentHolder"], 10, "the third to look")
    assert third.get("/readyz")[0] == 200 and not third.leader()
    stopped_at = time.monotonic()
    follower.proc.send_signal(signal.SIGTERM)
    wait_for(third.leader, LEASE_SECONDS + 3, "the third to take the lease")
    handover = time.monotonic() - stopped_at
    print(f"handover after SIGTERM (lease released): {handover:.2f}s")
    assert follower.terminate() == 0
    assert events_named(follower, "leader.released")[-1]["released"] is True
    assert handover <= LEASE_SECONDS / 3 + 1.5  # the third's next attempt, not the expiry
    assert third.terminate() == 0
    ddb = make_client("dynamodb", sandbox.target)
    assert ddb.scan(TableName=LEASE_TABLE)["Items"] == [], "released on SIGTERM"


def events_named(daemon: ElectedDaemon, name: str) -> list[dict[str, Any]]:
    return [e for e in daemon.events() if e["event"] == name]
