"""A seeded sandbox, an optional real reconcile pass of a private copy of routes/, and an edge.

`repo` and `seeded` come from tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.edge import LocalEdge, start_local_edge
from reconciler.edge.local_stack import CONVERGED, reconcile_until_converged


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
