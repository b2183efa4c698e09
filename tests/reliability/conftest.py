from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.retries import standard

from reconciler.aws.clients import AwsTarget
from reconciler.engine import Reconciler
from reconciler.sandbox import cloudfront_functions as sandbox_cff
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
def no_function_runner() -> Iterator[None]:
    """TestFunction answers "unavailable": the offline suite gates publishes (no wall-time
    compute figure to flake under load)."""
    before = sandbox_cff.test_function_runner()
    sandbox_cff.set_test_function_runner(None)
    yield
    sandbox_cff.set_test_function_runner(before)


@pytest.fixture
def seeded(aws: Any, no_function_runner: None) -> AwsTarget:
    target = AwsTarget(endpoint_url=aws.endpoint_url)
    seed(target)
    return target


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    return Reconciler(repo / "routes", repo, seeded)
