"""Shared fixtures: one emulated AWS per test session, reset before every test that uses it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import emulator

# Credentials for the emulated AWS only; set before any boto3 client exists so that no
# test can ever pick up a developer's real credentials.
os.environ.update({**emulator.CREDENTIALS, "AWS_DEFAULT_REGION": emulator.REGION})
os.environ.pop("AWS_PROFILE", None)

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    yield server
    server.stop()


class Aws:
    """Client factory bound to a freshly reset sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.target = AwsTarget(endpoint_url=server.endpoint_url, max_attempts=1)

    def client(self, service: str, region: str | None = None, **target: Any) -> Any:
        t = AwsTarget(**{**self.target.__dict__, **target}) if target else self.target
        return make_client(service, t, region)

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url


@pytest.fixture
def aws(sandbox: SandboxServer) -> Aws:
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{sandbox.endpoint_url}/moto-api/reset", method="POST")
    ).read()
    if sandbox.hooks is not None and hasattr(sandbox.hooks, "reset"):
        sandbox.hooks.reset()
    return Aws(sandbox)


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A private copy of the example routes and edge functions a test may edit."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "routes", root / "routes")
    shutil.copytree(
        REPO / "edge_functions", root / "edge_functions", ignore=shutil.ignore_patterns("node_modules")
    )
    return root


@pytest.fixture
def seeded(aws: Aws) -> AwsTarget:
    """A fresh sandbox seeded like the walkthrough's console steps (TestFunction always
    runs the real code in Node)."""
    from reconciler.sandbox.seed import seed

    target = AwsTarget(endpoint_url=aws.endpoint_url)
    seed(target)
    return target
