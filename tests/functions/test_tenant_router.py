"""tenant-router's own test events, run as its deployment package by the EdgeFunctionTester
(the runner test-functions and the publish gate use), against a plain moto DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reconciler.functions import EdgeFunctionTester, SuiteResult, build_package, run_lambda_edge
from reconciler.functions.emulated_dynamodb import EmulatedDynamoDb, TableSpec
from reconciler.functions.test_events import default_lambda_config, load_cases
from tests.functions.conftest import EDGE

FOLDER = EDGE / "tenant_router"
CASES = load_cases(FOLDER)
CONFIG = default_lambda_config(FOLDER)


@pytest.fixture(scope="module")
def tester() -> Iterator[EdgeFunctionTester]:
    with EdgeFunctionTester() as shared:
        yield shared


@pytest.fixture(scope="module")
def suite(tester: EdgeFunctionTester) -> SuiteResult:
    return tester.test_lambda(FOLDER, build_package(FOLDER, CONFIG), CONFIG, name="tenant-router")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_event(suite: SuiteResult, case) -> None:
    (outcome,) = [o for o in suite.outcomes if o.name == case.name]
    assert outcome.problems == []
    # One structured line per invocation, whatever the outcome.
    assert outcome.execution is not None and len(outcome.execution.logs) == 1
    assert json.loads(outcome.execution.logs[0])["fn"] == "tenant-router"


def test_every_case_ran(suite: SuiteResult) -> None:
    assert [o.name for o in suite.outcomes] == [c.name for c in CASES]
    assert suite.passed and suite.problems == []


@pytest.fixture
def dynamodb() -> Iterator[EmulatedDynamoDb]:
    emulated = EmulatedDynamoDb()
    yield emulated
    emulated.close()


def test_known_tenant_gets_a_complete_custom_origin(dynamodb: EmulatedDynamoDb) -> None:
    case = CASES[0]
    dynamodb.reset_table(TableSpec.resolve(None, CONFIG), case.items)  # type: ignore[arg-type]
    execution = run_lambda_edge(FOLDER, case.event, CONFIG, dynamodb.endpoint)
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


def test_table_name_comes_from_the_packaged_config(dynamodb: EmulatedDynamoDb) -> None:
    case = CASES[0]
    other = {**CONFIG, "tableName": "tenant-routing-other"}
    dynamodb.reset_table(TableSpec.resolve(None, other), [])  # type: ignore[arg-type]
    dynamodb.reset_table(TableSpec.resolve(None, CONFIG), case.items)  # type: ignore[arg-type]
    execution = run_lambda_edge(FOLDER, case.event, other, dynamodb.endpoint)
    assert any('"reason":"tenant-not-found"' in line for line in execution.logs)


def test_missing_config_fails_the_init_clearly(dynamodb: EmulatedDynamoDb) -> None:
    # Built without a config and without a local config.json: the package has none.
    package = build_package(FOLDER, {})
    assert "config.json" not in package.files
    from reconciler.functions.lambda_edge import handler_environment, run_package_once

    execution = run_package_once(
        package.zip_bytes, CASES[0].event, handler_environment(dynamodb.endpoint)
    )
    assert execution.error is not None
    assert "config.json" in execution.error and "see config.example.json" in execution.error


def test_incomplete_config_fails_the_init(dynamodb: EmulatedDynamoDb) -> None:
    execution = run_lambda_edge(FOLDER, CASES[0].event, {"region": "us-east-1"}, dynamodb.endpoint)
    assert (
        execution.error
        == 'init: Error: tenant-router: config.json needs a non-empty string "tableName"'
    )
