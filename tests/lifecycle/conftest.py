"""Lifecycle tests: the function adapters against the emulated AWS over HTTP.

Writes are counted on the wire by the sandbox's hooks (what reached the server), so a
retry or a stray call shows up; reads are listed apart because "no change, zero writes"
is about writes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIER_ROUTER = ROOT / "edge_functions" / "tier_router"
TENANT_ROUTER = ROOT / "edge_functions" / "tenant_router"
_READ_PREFIXES = ("Get", "List", "Describe", "Test")


class WireCounter:
    """Write operations that reached the sandbox since the last mark()."""

    def __init__(self, aws: Any) -> None:
        self._hooks = aws.server.hooks
        assert self._hooks is not None, "the sandbox runs without wire hooks"
        self._base = self._snapshot()

    def _snapshot(self) -> dict[tuple[str, str], int]:
        return {
            (service, op): n
            for service, ops in self._hooks.calls().items()
            for op, n in ops.items()
        }

    def mark(self) -> None:
        self._base = self._snapshot()

    def calls(self) -> dict[str, int]:
        now = self._snapshot()
        return {
            f"{s}:{o}": n - self._base.get((s, o), 0)
            for (s, o), n in sorted(now.items())
            if n - self._base.get((s, o), 0)
        }

    def writes(self) -> dict[str, int]:
        return {
            k: n
            for k, n in self.calls().items()
            if not k.split(":", 1)[1].startswith(_READ_PREFIXES)
        }


@pytest.fixture
def wire(aws: Any) -> WireCounter:
    return WireCounter(aws)


@pytest.fixture
def tier_folder(tmp_path: Path) -> Path:
    """A private copy of the tier router (code + test events) a test may edit."""
    folder = tmp_path / "tier_router"
    shutil.copytree(TIER_ROUTER, folder)
    return folder


def trust_policy(*services: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": list(services)},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
