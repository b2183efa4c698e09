from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.passes import Reconciler
from reconciler.sandbox import cloudfront_functions as sandbox_cff
from reconciler.sandbox.seed import seed
from reconciler.sandbox.server import enable_function_runner

REPO = Path(__file__).resolve().parents[2]


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
def function_runner() -> Iterator[None]:
    before = sandbox_cff.test_function_runner()
    if not enable_function_runner():
        pytest.skip("node is not installed")
    yield
    sandbox_cff.set_test_function_runner(before)


@pytest.fixture
def seeded(aws, function_runner) -> AwsTarget:  # type: ignore[no-untyped-def]
    target = AwsTarget(endpoint_url=aws.endpoint_url)
    seed(target)
    return target


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    return Reconciler(repo / "routes", repo, seeded)
