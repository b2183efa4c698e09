"""`reconciler sandbox` as a user runs it: a subprocess, its printed environment, one call."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import boto3
import pytest

from tests.support.sandbox_process import read_exports


def _start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "--log-format",
            "json",
            "sandbox",
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


_exports = read_exports


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _client(exports: dict[str, str], service: str) -> object:
    return boto3.session.Session(
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=exports["AWS_SESSION_TOKEN"],
        region_name=exports["AWS_DEFAULT_REGION"],
    ).client(service, endpoint_url=exports["AWS_ENDPOINT_URL"])  # type: ignore[call-overload]


def test_sandbox_serves_seeded_until_sigterm(running: list[subprocess.Popen[str]]) -> None:
    proc = _start()
    running.append(proc)
    exports = _exports(proc, "SANDBOX_EDGE_ROLE_ARN")
    # localhost: SDKs prefix the KeyValueStore host with the account id, and Node's URL
    # parser refuses 123456789012.127.0.0.1 (docs/sandbox.md); the proxy is the sandbox.
    assert exports["AWS_ENDPOINT_URL"].startswith("http://localhost:")
    assert exports["HTTP_PROXY"] == exports["AWS_ENDPOINT_URL"]
    cloudfront = _client(exports, "cloudfront")
    items = cloudfront.list_distributions()["DistributionList"]["Items"]  # type: ignore[attr-defined]
    assert [(d["Id"], d["Comment"]) for d in items] == [
        (exports["SANDBOX_DISTRIBUTION_ID"], "edge-routing-example")
    ]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_sandbox_no_seed_stops_on_sigint(running: list[subprocess.Popen[str]]) -> None:
    proc = _start("--no-seed")
    running.append(proc)
    exports = _exports(proc, "AWS_SESSION_TOKEN")
    iam = _client(exports, "iam")
    assert iam.list_roles()["Roles"] == []  # type: ignore[attr-defined]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
