"""`reconciler run --sandbox` as a subprocess, with the real reconcile pass, on a copy of routes/.

Everything is observed from outside, as an operator would: the route files are edited on
disk, AWS is read (and drifted) with plain boto3 against the daemon's embedded emulated
AWS, and the daemon is read through /status and /metrics.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget, make_client
from tests.support import daemon as support
from tests.support.daemon import REPO, wait_for
from tests.support.git import git

__all__ = ["REPO", "DaemonProcess", "StoreReader", "copy_repo_layout", "set_entry", "wait_for"]

STORE = "tier-origins"
TIERS = "tiers.yaml"


class StoreReader:
    """Reads the example store with plain boto3, as an operator would."""

    target: AwsTarget

    def kvs_value(self, key: str) -> str | None:
        """The key's value; None while the store or the key does not exist."""
        kvs = make_client("cloudfront-keyvaluestore", self.target)
        cloudfront = make_client("cloudfront", self.target)
        try:
            return str(kvs.get_key(KvsARN=self.store_arn(), Key=key)["Value"])
        except (kvs.exceptions.ResourceNotFoundException, cloudfront.exceptions.EntityNotFound):
            return None

    def store_arn(self) -> str:
        cloudfront = make_client("cloudfront", self.target)
        return str(cloudfront.describe_key_value_store(Name=STORE)["KeyValueStore"]["ARN"])


class DaemonProcess(StoreReader, support.DaemonProcess):
    """`reconciler run --sandbox` (its own embedded emulated AWS), state in `tmp/state`
    (tests/daemon/test_hostile.py uses it too)."""

    def __init__(self, tmp: Path, *args: str) -> None:
        super().__init__(
            tmp, "--sandbox", "--state-dir", str(tmp / "state"), "--debounce", "200ms", *args
        )
        assert self.sandbox_url, "run --sandbox logged no sandbox_url"
        self.target = AwsTarget(endpoint_url=self.sandbox_url, max_attempts=2)


def copy_repo_layout(dst: Path) -> Path:
    """routes/ and edge_functions/ as in the repository (node_modules linked, as git
    ignores it); returns the routes dir. Documents' paths are relative to `dst`."""
    shutil.copytree(REPO / "routes", dst / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        dst / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    link_node_modules(dst)
    return dst / "routes"


def link_node_modules(dst: Path) -> None:
    for modules in (REPO / "edge_functions").glob("*/node_modules"):
        link = dst / modules.relative_to(REPO)
        if link.parent.is_dir() and not link.exists():
            link.symlink_to(modules)


def set_entry(routes: Path, key: str, value: str) -> None:
    """Rewrite `key: value` under the store's entries in tiers.yaml (comments kept)."""
    path = routes / TIERS
    text, n = re.subn(rf"(?m)^(\s+{key}:\s*)\S+$", rf"\g<1>{value}", path.read_text(), count=1)
    assert n == 1, f"no entry {key} in {path}"
    path.write_text(text)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonProcess, Path]]:
    tmp = tmp_path_factory.mktemp("e2e")
    routes = copy_repo_layout(tmp / "repo")
    d = DaemonProcess(
        tmp, "--routes-dir", str(routes), "--resync-interval", "2s", "--sandbox-edge-port", "0"
    )
    try:
        wait_for(lambda: d.status()["lastPass"], 90, "the first pass")
        assert d.status()["lastPass"]["outcome"] == "applied", d.status()
        yield d, routes
    finally:
        d.kill()


def test_first_pass_applies_the_example_routes(daemon: tuple[DaemonProcess, Path]) -> None:
    d, _ = daemon
    assert d.get("/readyz")[0] == 200
    assert d.get("/healthz") == (200, "ok\n")
    assert d.kvs_value("premium") == "premium-api.example.com"
    assert d.condition("Ready")["status"] == "True"


def test_the_local_edge_routes_what_the_daemon_applied(daemon: tuple[DaemonProcess, Path]) -> None:
    """The main job's edge answers the walkthrough's requests from the published state."""
    d, _ = daemon
    assert d.edge_url, "run --sandbox --sandbox-edge-port started no edge"

    def backend(path: str, body: bytes | None = None) -> str:
        request = urllib.request.Request(d.edge_url + path, data=body, method="POST" if body else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["backend"])

    assert backend("/pets?CTIER=premium") == "premium-api.example.com"
    assert backend("/pets?CTIER=basic") == "basic-api.example.com"
    assert backend("/tenant/orders", b'{"tenantId": "acme", "accountId": "1001"}') == (
        "acme-backend.example.com"
    )


def test_an_edit_is_applied_within_seconds(daemon: tuple[DaemonProcess, Path]) -> None:
    d, routes = daemon
    started = time.monotonic()
    set_entry(routes, "premium", "premium-eu-api.example.com")
    wait_for(lambda: d.kvs_value("premium") == "premium-eu-api.example.com", 10, "the edit in KVS")
    assert time.monotonic() - started < 10


def test_a_burst_of_50_writes_makes_at_most_2_passes(daemon: tuple[DaemonProcess, Path]) -> None:
    d, routes = daemon
    wait_for(d.idle, 30, "idle")
    before = d.passes(trigger="change")
    for i in range(50):
        set_entry(routes, "standard", f"standard-{i}.example.com")
    wait_for(lambda: d.kvs_value("standard") == "standard-49.example.com", 15, "the last write")
    time.sleep(0.5)  # > debounce: a late third pass would have started by now
    wait_for(d.idle, 30, "idle")
    assert 1 <= d.passes(trigger="change") - before <= 2


def test_invalid_edit_changes_nothing_then_a_valid_edit_recovers(
    daemon: tuple[DaemonProcess, Path],
) -> None:
    d, routes = daemon
    good = (routes / TIERS).read_text()
    value_before = d.kvs_value("basic")
    bad = good.replace("kind: KeyValueStore", "kind: KeyValueStore\nunexpected: field", 1)
    bad = re.sub(r"(?m)^(\s+basic:\s*)\S+$", r"\g<1>basic-changed.example.com", bad, count=1)
    (routes / TIERS).write_text(bad)
    wait_for(lambda: d.condition("Stalled")["reason"] == "InvalidRouteFiles", 15, "Stalled")
    status = d.status()
    assert status["lastError"]["outcome"] == "invalid"
    assert any(TIERS in e for e in status["lastError"]["errors"]), status["lastError"]
    # Readiness is the process, not the files: the pod stays in its Service (/status).
    assert d.get("/readyz")[0] == 200
    assert d.kvs_value("basic") == value_before  # nothing of an invalid set is applied

    (routes / TIERS).write_text(good.replace("basic-api.example.com", "basic-v2.example.com", 1))
    wait_for(lambda: d.kvs_value("basic") == "basic-v2.example.com", 15, "recovery")
    wait_for(lambda: d.condition("Stalled")["status"] == "False", 10, "not stalled")
    assert d.get("/readyz")[0] == 200


def test_drift_made_with_boto3_is_detected_and_corrected(
    daemon: tuple[DaemonProcess, Path],
) -> None:
    d, _ = daemon
    wait_for(d.idle, 30, "idle")
    declared = d.kvs_value("premium")
    kvs = make_client("cloudfront-keyvaluestore", d.target)
    arn = d.store_arn()
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    kvs.put_key(KvsARN=arn, Key="premium", Value="hijacked.example.com", IfMatch=etag)
    drift_before = d.metric("reconciler_drift_detected_total")
    wait_for(lambda: d.kvs_value("premium") == declared, 15, "the resync to undo the drift")
    wait_for(lambda: d.metric("reconciler_drift_detected_total") > drift_before, 5, "drift metric")
    assert d.status()["drift"]["corrected"] is True
    assert any(e["event"] == "drift.detected" for e in d.events())


def test_sigterm_exits_0(daemon: tuple[DaemonProcess, Path]) -> None:
    d, _ = daemon
    assert d.terminate() == 0
    events = [e["event"] for e in d.events()]
    # The daemon stops first; the sandbox's local edge is torn down after it.
    assert "daemon.stopped" in events and events[-1] in ("daemon.stopped", "edge.stopped")




def test_git_commits_drive_changes_and_the_revision_is_reported(tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    author = tmp_path / "author"
    git("clone", "--quiet", str(bare), str(author), cwd=tmp_path)
    copy_repo_layout(author)
    git("add", "-A", cwd=author)
    git("commit", "--quiet", "-m", "routes as in the example", cwd=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=author)
    # The daemon fetches into an existing checkout; git ignores node_modules, so the
    # link made here survives its hard resets (a real deployment installs them).
    checkout = tmp_path / "checkout"
    git("clone", "--quiet", "--depth", "1", str(bare), str(checkout), cwd=tmp_path)
    link_node_modules(checkout)

    d = DaemonProcess(
        tmp_path, "--git-url", str(bare), "--git-dir", str(checkout),
        "--git-interval", "300ms", "--routes-dir", "routes",
    )  # fmt: skip
    try:
        first = git("rev-parse", "HEAD", cwd=author)
        wait_for(lambda: (d.status()["lastAppliedRevision"] or {}).get("sha") == first, 90, "first")

        set_entry(author / "routes", "premium", "premium-git.example.com")
        git("commit", "--quiet", "-am", "premium moves", cwd=author)
        git("push", "--quiet", "origin", "HEAD:main", cwd=author)
        second = git("rev-parse", "HEAD", cwd=author)
        wait_for(lambda: d.kvs_value("premium") == "premium-git.example.com", 15, "the commit")
        wait_for(lambda: (d.status()["lastAppliedRevision"] or {}).get("sha") == second, 10, "rev")
        assert d.status()["lastAppliedRevision"]["subject"] == "premium moves"
        assert d.metric("reconciler_revision_info", state="applied", revision=second) == 1
        assert d.terminate() == 0
    finally:
        d.kill()


def test_dry_run_plans_every_pass_and_writes_nothing(tmp_path: Path) -> None:
    routes = copy_repo_layout(tmp_path / "repo")
    d = DaemonProcess(tmp_path, "--routes-dir", str(routes), "--dry-run")
    try:
        wait_for(lambda: d.status()["lastPass"], 90, "the first pass")
        status = d.status()
        assert status["lastPass"]["outcome"] == "planned"
        assert status["lastPlan"]["changes"] > 0 and status["lastPlan"]["items"]
        assert status["mode"]["dryRun"] is True
        finished = [e for e in d.events() if e["event"] == "pass.finished"]
        assert finished[-1]["plan_items"], "the plan is in the log too"
        cloudfront = make_client("cloudfront", d.target)
        with pytest.raises(cloudfront.exceptions.EntityNotFound):
            cloudfront.describe_key_value_store(Name=STORE)
        assert d.passes(outcome="applied") == 0
        assert d.terminate() == 0
    finally:
        d.kill()


def test_git_sync_symlink_swap_publishes_the_new_revision(tmp_path: Path) -> None:
    """git-sync publishes with `ln -s rev2 tmp && mv -T tmp current`."""
    copy_repo_layout(tmp_path / "rev1")
    copy_repo_layout(tmp_path / "rev2")
    set_entry(tmp_path / "rev2" / "routes", "premium", "premium-rev2.example.com")
    (tmp_path / "current").symlink_to("rev1")
    d = DaemonProcess(tmp_path, "--routes-dir", str(tmp_path / "current" / "routes"))
    try:
        wait_for(lambda: d.kvs_value("premium") == "premium-api.example.com", 90, "rev1 applied")
        (tmp_path / "tmp").symlink_to("rev2")
        os.replace(tmp_path / "tmp", tmp_path / "current")
        wait_for(lambda: d.kvs_value("premium") == "premium-rev2.example.com", 15, "rev2 applied")
        shutil.rmtree(tmp_path / "rev1")
        set_entry(tmp_path / "rev2" / "routes", "standard", "standard-rev2.example.com")
        wait_for(lambda: d.kvs_value("standard") == "standard-rev2.example.com", 15, "rev2 edit")
        assert d.terminate() == 0
    finally:
        d.kill()
