from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.retries import standard

from reconciler.aws.clients import AwsTarget
from reconciler.engine import Reconciler
from tests.reliability.crash import ENGINE_SETTINGS

REPO = Path(__file__).resolve().parents[2]
# botocore's standard retry waits rand(0,1) * 2^i seconds after a throttle (base 1 s).
# The fault tests scale every delay down by this factor so a 30 % throttle run takes
# seconds; how many retries happen, and which errors are retried, are botocore's own.
RETRY_DELAY_SCALE = 0.02


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    original = standard.ExponentialBackoff.delay_amount

    def scaled(self: Any, context: Any) -> float:
        return float(original(self, context)) * RETRY_DELAY_SCALE

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", scaled)


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    """The engine over a copy of the example routes; `seeded` (tests/conftest.py): the
    walkthrough's account, TestFunction running the code (see ENGINE_SETTINGS)."""
    return Reconciler(repo / "routes", repo, seeded, settings=ENGINE_SETTINGS)
