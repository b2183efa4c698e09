from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.engine import Reconciler
from tests.conftest import REPO

__all__ = ["REPO"]


@pytest.fixture
def reconciler(repo: Path, seeded: AwsTarget) -> Reconciler:
    return Reconciler(repo / "routes", repo, seeded)
