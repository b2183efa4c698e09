from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.retries import standard

from reconciler.aws.clients import AwsTarget
from reconciler.passes import Reconciler
from reconciler.sandbox.seed import seed

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
def seeded(aws: Any) -> AwsTarget:
    target = AwsTarget(endpoint_url=aws.endpoint_url)
    seed(target)
    return target


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    # TestFunction runs the real code once per event; its compute figure is this busy
    # machine's, so these fault tests do not gate on it (the gate has its own test).
    return Reconciler(repo / "routes", repo, seeded, max_compute_utilization=100)
