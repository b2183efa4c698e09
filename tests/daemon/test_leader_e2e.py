"""Two `reconciler run --leader-election` daemons on the same routes and the same emulated
AWS (`reconciler sandbox` in a third process): one writes, the other stands by; SIGKILL
the leader and the other takes over within the lease time.

Writes are counted twice: per daemon (its /metrics) and on the wire (the sandbox's call
counts), so "exactly one writes" is not taken on the daemons' word.
"""

from __future__ import annotations

import json
import os
import shlex
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
from tests.daemon.test_e2e import REPO, DaemonProcess, copy_repo_layout, set_entry, wait_for

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
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)},
        )
        self.env: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the exports come first, then it serves
            name, _, value = line.removeprefix("export ").strip().partition("=")
            self.env[name] = shlex.split(value)[0]
            if "SANDBOX_EDGE_ROLE_ARN" in self.env:
                break
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


class ElectedDaemon(DaemonProcess):
    """A daemon against an external endpoint with leader election on (no --sandbox)."""

    def __init__(self, tmp: Path, name: str, sandbox: Sandbox, routes: Path) -> None:
        (tmp / name).mkdir()
        self.log_path = tmp / name / "daemon.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "reconciler", "--log-format", "json", "run",
                "--endpoint-url", sandbox.url, "--routes-dir", str(routes),
                "--http-port", "0", "--state-dir", str(tmp / name / "state"),
                "--debounce", "200ms", "--resync-interval", "1h",
                "--leader-election", "--lease-duration", f"{LEASE_SECONDS}s",
            ],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env={**os.environ, **sandbox.env, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        self.target = sandbox.target

    def wait_started(self) -> None:
        self.http_url = wait_for(self._started, 60, "daemon.started")["http_url"]

    def leader(self) -> bool:
        return bool(self.status().get("leader"))

    def writes(self) -> float:
        return self.metric("reconciler_changes_applied_total")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Sandbox, Path, list[ElectedDaemon]]]:
    sandbox = Sandbox(tmp_path)
    routes = copy_repo_layout(tmp_path / "repo")
    daemons = [ElectedDaemon(tmp_path, n, sandbox, routes) for n in ("one", "two")]
    try:
        for d in daemons:
            d.wait_started()
        yield sandbox, routes, daemons
    finally:
        for d in daemons:
            d.kill()
        sandbox.stop()


def test_one_leader_writes_and_the_other_takes_over_after_sigkill(
    pair: tuple[Sandbox, Path, list[ElectedDaemon]],
) -> None:
    sandbox, routes, daemons = pair
    leader = wait_for(
        lambda: next((d for d in daemons if d.leader() and d.status()["lastPass"]), None),
        90,
        "a leader's first pass",
    )
    follower = next(d for d in daemons if d is not leader)
    assert leader.status()["lastPass"]["outcome"] == "applied"
    assert leader.get("/readyz")[0] == 200 and follower.get("/readyz")[0] == 200
    assert follower.status()["leader"] is False
    assert follower.metric("reconciler_leader") == 0 and leader.metric("reconciler_leader") == 1
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

    # The new leader writes the next edit; a clean stop releases the lease.
    set_entry(routes, "premium", "premium-takeover.example.com")
    wait_for(lambda: follower.kvs_value("premium") == "premium-takeover.example.com", 15, "edit")
    assert follower.writes() == 1
    assert follower.terminate() == 0
    ddb = make_client("dynamodb", sandbox.target)
    assert ddb.scan(TableName=LEASE_TABLE)["Items"] == [], "released on SIGTERM"


def events_named(daemon: ElectedDaemon, name: str) -> list[dict[str, Any]]:
    return [e for e in daemon.events() if e["event"] == name]


def test_sigterm_of_the_leader_hands_over_without_waiting_for_expiry(
    pair: tuple[Sandbox, Path, list[ElectedDaemon]],
) -> None:
    _, _, daemons = pair
    leader = wait_for(lambda: next((d for d in daemons if d.leader()), None), 90, "a leader")
    wait_for(lambda: leader.status()["lastPass"], 90, "the first pass")
    follower = next(d for d in daemons if d is not leader)
    stopped_at = time.monotonic()
    leader.proc.send_signal(signal.SIGTERM)
    wait_for(follower.leader, LEASE_SECONDS + 3, "the follower to take the lease")
    handover = time.monotonic() - stopped_at
    print(f"\nhandover after SIGTERM (lease released): {handover:.2f}s")
    assert leader.proc.wait(10) == 0
    assert events_named(leader, "leader.released")[-1]["released"] is True
    # Released, so no expiry to wait for: the follower's next attempt (every third) wins.
    assert handover <= LEASE_SECONDS / 3 + 1.5
