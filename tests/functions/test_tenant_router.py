"""tenant-router's own test events, run as its deployment package against the emulated AWS."""

from __future__ import annotations

import json
import subprocess

import pytest

from reconciler.functions import run_lambda_edge
from reconciler.functions.dynamodb_seed import reset_table
from reconciler.functions.node import JS_DIR
from reconciler.functions.test_events import (
    FunctionKind,
    closed_port_url,
    default_lambda_config,
    judge,
    load_cases,
)
from tests.functions.conftest import EDGE

FOLDER = EDGE / "tenant_router"
CASES = load_cases(FOLDER)
CONFIG = default_lambda_config(FOLDER)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_event(aws, case):
    reset_table(aws.client("dynamodb"), CONFIG, case.items)
    endpoint = closed_port_url() if case.dynamodb == "unreachable" else aws.endpoint_url
    execution = run_lambda_edge(FOLDER, case.event, CONFIG, endpoint)
    assert judge(FunctionKind.LAMBDA_EDGE, case, execution) == []
    # One structured line per invocation, whatever the outcome.
    assert len(execution.logs) == 1
    assert json.loads(execution.logs[0])["fn"] == "tenant-router"


def test_known_tenant_gets_a_complete_custom_origin(aws):
    case = CASES[0]
    reset_table(aws.client("dynamodb"), CONFIG, case.items)
    execution = run_lambda_edge(FOLDER, case.event, CONFIG, aws.endpoint_url)
    assert execution.error is None
    assert execution.output["origin"] == {
        "custom": {
            "domainName": "premium-api.example.com",
            "port": 443,
            "protocol": "https",
            "path": "",
            "sslProtocols": ["TLSv1.2"],
            "readTimeout": 30,
            "keepaliveTimeout": 5,
            "customHeaders": {},
        }
    }
    assert execution.output["headers"]["host"] == [
        {"key": "Host", "value": "premium-api.example.com"}
    ]


def test_table_name_comes_from_the_packaged_config(aws):
    case = CASES[0]
    other = {**CONFIG, "tableName": "tenant-routing-other"}
    reset_table(aws.client("dynamodb"), other, [])
    reset_table(aws.client("dynamodb"), CONFIG, case.items)
    execution = run_lambda_edge(FOLDER, case.event, other, aws.endpoint_url)
    assert any('"reason":"tenant-not-found"' in line for line in execution.logs)


def test_missing_config_fails_the_init_clearly():
    # The source folder has no config.json (only the package gets one): import it as is.
    request = {
        "dir": str(FOLDER),
        "handler": "index.handler",
        "event": CASES[0].event,
        "timeoutMs": 1000,
    }
    proc = subprocess.run(
        ["node", str(JS_DIR / "lambda_runner.mjs"), json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    init_error = json.loads(proc.stdout)["initError"]
    assert "config.json" in init_error and "see config.example.json" in init_error


def test_incomplete_config_fails_the_init(aws):
    execution = run_lambda_edge(FOLDER, CASES[0].event, {"region": "us-east-1"}, aws.endpoint_url)
    assert (
        execution.error
        == 'init: Error: tenant-router: config.json needs a non-empty string "tableName"'
    )
