"""Fixtures for the edge-function harness tests: one Node process for the session."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.functions import CloudFrontFunctionRunner

REPO = Path(__file__).resolve().parents[2]
EDGE = REPO / "edge_functions"


@pytest.fixture(scope="session")
def cf_runner() -> Iterator[CloudFrontFunctionRunner]:
    with CloudFrontFunctionRunner() as runner:
        yield runner


@pytest.fixture(scope="session")
def tier_code() -> str:
    return (EDGE / "tier_router" / "index.js").read_text(encoding="utf-8")


_VIEWER_EVENT: dict[str, Any] = {
    "version": "1.0",
    "context": {
        "distributionDomainName": "d111111abcdef8.cloudfront.net",
        "distributionId": "E2EXAMPLE12345",
        "eventType": "viewer-request",
        "requestId": "req-1",
    },
    "viewer": {"ip": "198.51.100.11"},
    "request": {
        "method": "GET",
        "uri": "/pets",
        "querystring": {},
        "headers": {"host": {"value": "d111111abcdef8.cloudfront.net"}},
        "cookies": {},
    },
}


def viewer_event(
    querystring: dict[str, Any] | None = None, event_type: str = "viewer-request"
) -> dict[str, Any]:
    event = copy.deepcopy(_VIEWER_EVENT)
    event["request"]["querystring"] = querystring or {}
    event["context"]["eventType"] = event_type
    return event


def handler_calling(body: str) -> str:
    """A CloudFront Function whose handler runs `body` (with cf imported) and returns the request."""
    return f"import cf from 'cloudfront';\nasync function handler(event) {{\n{body}\nreturn event.request;\n}}\n"
