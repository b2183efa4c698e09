"""A seeded sandbox, an optional real reconcile pass of a private copy of routes/, and an edge.

The same pattern as tests/passes/conftest.py (copied, not imported: fixtures imported
from another conftest are a pytest anti-pattern).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.edge import LocalEdge, start_local_edge
from reconciler.edge.local_stack import CONVERGED, reconcile_until_converged
from reconciler.sandbox import cloudfront_functions as sandbox_cff
from reconciler.sandbox.seed import seed
from reconciler.sandbox.server import enable_function_runner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "routes", root / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        root / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
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


def reconcile(repo: Path, target: AwsTarget) -> None:
    reports = reconcile_until_converged(repo / "routes", repo, target)
    assert reports[-1].outcome in CONVERGED, reports[-1]


@pytest.fixture
def reconciled(repo: Path, seeded: AwsTarget) -> AwsTarget:
    reconcile(repo, seeded)
    return seeded


@pytest.fixture
def edge(seeded: AwsTarget) -> Iterator[LocalEdge]:
    assert seeded.endpoint_url is not None
    # ttl=0: every request reads the emulated AWS, so a pass shows on the next request.
    local = start_local_edge(seeded.endpoint_url, 0, state_ttl=0)
    yield local
    local.stop()
