from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.engine import EngineSettings, GateSettings, Reconciler
from tests.conftest import REPO

__all__ = ["REPO"]


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    # The sandbox's TestFunction reports this (busy, shared) machine's compute figure; the
    # gate is not what these tests are about (it has its own test in tests/lifecycle).
    lenient = EngineSettings(gate=GateSettings(max_compute_utilization=100))
    return Reconciler(repo / "routes", repo, seeded, settings=lenient)
