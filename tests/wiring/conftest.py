"""A small repository wired into the sandbox's seeded distribution (the walkthrough's
console setup, reconciler/sandbox/seed.py): a CloudFront Function and a Lambda@Edge
function with one test event each, and the example Distribution document."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.support.routes import write_cloudfront_function, write_lambda_function, write_policy

EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {"eventType": "viewer-request"},
    "viewer": {"ip": "198.51.100.7"},
    "request": {"method": "GET", "uri": "/", "querystring": {}, "headers": {}, "cookies": {}},
}
LAMBDA_EVENT = {"Records": [{"cf": {"request": {"uri": "/", "method": "GET", "headers": {}}}}]}


def write_tier_function(root: Path, version: int = 1) -> None:
    folder = root / "edge_functions" / "tier"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "index.js").write_text(
        f"function handler(event) {{ return event.request; }} // v{version}\n"
    )
    case = {"name": "passes", "event": EVENT, "expect": {"request": "unchanged"}}
    (folder / "tests" / "01.json").write_text(json.dumps(case))
    write_cloudfront_function(root / "routes", "tier-router", "edge_functions/tier/index.js")


def write_tenant_function(root: Path, version: int = 1) -> None:
    folder = root / "edge_functions" / "tenant"
    (folder / "tests").mkdir(parents=True, exist_ok=True)
    (folder / "index.mjs").write_text(
        f"export const handler = async (event) => event.Records[0].cf.request; // v{version}\n"
    )
    case = {"name": "passes", "event": LAMBDA_EVENT, "expect": {"request": "unchanged"}}
    (folder / "tests" / "01.json").write_text(json.dumps(case))
    write_lambda_function(root / "routes", "tenant-router", "edge_functions/tenant/")


@pytest.fixture
def wiring_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_policy(root / "routes")
    write_tier_function(root)
    write_tenant_function(root)
    shutil.copy(REPO / "routes" / "distribution.yaml", root / "routes" / "distribution.yaml")
    return root
