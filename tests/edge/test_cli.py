"""`reconciler sandbox --edge-port` and `reconciler smoke` as a user runs them: subprocesses.

Subprocesses, not CliRunner: the commands start their own emulated AWS, and moto's
backends are process-wide (they would share state with the test session's sandbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.sandbox_process import read_exports

REPO_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}


def _reconciler(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", "--log-format", "json", *args]


@pytest.fixture
def sandbox_with_edge() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        _reconciler("sandbox", "--port", "0", "--edge-port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=REPO_ENV,
    )
    try:
        yield read_exports(proc, "RECONCILER_EDGE_URL")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_sandbox_serves_the_edge_before_any_pass(sandbox_with_edge: dict[str, str]) -> None:
    # Before the first reconcile nothing is wired: the default origin answers every tier.
    url = sandbox_with_edge["RECONCILER_EDGE_URL"] + "/pets?CTIER=premium"
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.headers["X-Cache"] == "Miss from cloudfront"
        assert json.loads(reply.read())["backend"] == "basic-api.example.com"


def test_smoke_without_urls_reconciles_its_own_sandbox_and_passes() -> None:
    done = subprocess.run(
        _reconciler("smoke"), capture_output=True, text=True, env=REPO_ENV, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("pass: applied")
    checks = [line for line in lines if line.startswith(("ok", "FAIL"))]
    assert len(checks) == 8 and all(line.startswith("ok") for line in checks), lines
    assert lines[-1].startswith("8/8 checks passed")


def test_smoke_with_an_endpoint_but_no_edge_is_a_usage_error() -> None:
    done = subprocess.run(
        _reconciler("smoke", "--endpoint-url", "http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        env=REPO_ENV,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--endpoint-url needs --edge-url" in done.stderr
