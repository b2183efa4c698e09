"""EdgeFunctionTester: the one runner of test-functions and the publish gate. It runs the
bytes being published, reports failures by file and name with expected and actual, keeps
handlers away from real AWS, and takes events of any size."""

from __future__ import annotations

import base64
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from reconciler.functions import EdgeFunctionTester, build_package
from tests.functions.conftest import EDGE

TENANT_CASE = json.loads(
    (EDGE / "tenant_router" / "tests" / "01-known-tenant-routes-to-its-backend.json").read_text()
)
CONFIG = {"tableName": "tenant-routing-config-prod", "region": "us-east-1"}


def _lambda_folder(tmp_path: Path, code: str, cases: dict[str, dict]) -> Path:
    folder = tmp_path / "fn"
    (folder / "tests").mkdir(parents=True)
    (folder / "index.mjs").write_text(code)
    for name, case in cases.items():
        (folder / "tests" / name).write_text(json.dumps(case))
    return folder


def test_cloudfront_runs_the_given_code_not_the_file_on_disk(tmp_path: Path) -> None:
    folder = tmp_path / "tier_router"
    shutil.copytree(EDGE / "tier_router", folder)
    published = (folder / "index.js").read_bytes()
    (folder / "index.js").write_text("function handler(event) { throw new Error('disk'); }\n")
    with EdgeFunctionTester() as tester:
        good = tester.test_cloudfront(folder, published, None)
        broken = tester.test_cloudfront(
            folder, published.replace(b"cf.updateRequestOrigin", b"cf.selectRequestOriginById"), None
        )
    assert good.passed, good.problems
    assert not broken.passed
    assert any(
        p.startswith('tests/01-premium-routes-to-premium-origin.json "premium-routes-to-premium-origin": ')
        for p in broken.problems
    ), broken.problems


def test_lambda_runs_the_package_bytes_not_a_rebuild(tmp_path: Path) -> None:
    case = {**TENANT_CASE, "expect": {"hostHeader": "premium-api.example.com"}}
    folder = tmp_path / "tenant_router"
    shutil.copytree(EDGE / "tenant_router", folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "tests").mkdir()
    (folder / "tests" / "known.json").write_text(json.dumps(case))
    package = build_package(folder, CONFIG)
    # What is on disk now would fail the case; the package holds the code before the edit.
    (folder / "index.mjs").write_text("export const handler = async (e) => e.Records[0].cf.request;\n")
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, package, CONFIG)
        rebuilt = tester.test_lambda(folder, build_package(folder, CONFIG), CONFIG)
    assert suite.passed, suite.problems
    assert rebuilt.problems == [
        'tests/known.json "known-tenant-routes-to-its-backend": '
        "hostHeader expected 'premium-api.example.com', got 'basic-api.example.com'"
    ]


def test_the_embedded_dynamodb_starts_once_and_stops_on_exit(tmp_path: Path) -> None:
    folder = _lambda_folder(
        tmp_path,
        "export const handler = async (e) => e.Records[0].cf.request;\n",
        {"a.json": {"event": TENANT_CASE["event"], "expect": {"origin": None}}},
    )
    package = build_package(folder, CONFIG)
    with EdgeFunctionTester() as tester:
        assert tester._dynamodb._server is None  # lazily: nothing started yet
        tester.test_lambda(folder, package, CONFIG)
        endpoint = tester._dynamodb.endpoint
        tester.test_lambda(folder, package, CONFIG)
        assert tester._dynamodb.endpoint == endpoint  # the same server for every suite
        urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=5).read()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=2).read()


def test_the_handler_never_sees_the_callers_credentials_or_endpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://dynamodb.us-east-1.amazonaws.com")
    code = (
        "export const handler = async (e) => { console.log(JSON.stringify({"
        "key: process.env.AWS_ACCESS_KEY_ID, profile: process.env.AWS_PROFILE || null,"
        "endpoint: process.env.AWS_ENDPOINT_URL})); return e.Records[0].cf.request; };\n"
    )
    folder = _lambda_folder(
        tmp_path, code, {"a.json": {"event": TENANT_CASE["event"], "expect": {"origin": None}}}
    )
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, build_package(folder, CONFIG), CONFIG)
        endpoint = tester._dynamodb.endpoint
    (outcome,) = suite.outcomes
    assert outcome.execution is not None
    seen = json.loads(outcome.execution.logs[0])
    assert seen == {"key": "testing", "profile": None, "endpoint": endpoint}


def test_an_event_larger_than_argv_allows_goes_over_stdin(tmp_path: Path) -> None:
    # Origin-request bodies reach 1 MB (base64: 1.33 MB); argv stops near 128 KB a string.
    event = json.loads(json.dumps(TENANT_CASE["event"]))
    body = event["Records"][0]["cf"]["request"]["body"]
    body["data"] = base64.b64encode(b"x" * (1024 * 1024)).decode()
    code = (
        "export const handler = async (e) => { const r = e.Records[0].cf.request;"
        " console.log(String(Buffer.from(r.body.data, 'base64').length)); return r; };\n"
    )
    folder = _lambda_folder(
        tmp_path, code, {"big.json": {"event": event, "expect": {"logsContain": ["1048576"]}}}
    )
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, build_package(folder, CONFIG), CONFIG)
    assert suite.passed, suite.problems


def test_items_without_a_table_fail_the_case_clearly(tmp_path: Path) -> None:
    folder = _lambda_folder(
        tmp_path,
        "export const handler = async (e) => e.Records[0].cf.request;\n",
        {"a.json": {"name": "a", "event": TENANT_CASE["event"], "items": [{"tenantId": "x"}],
                    "expect": {}}},
    )
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, build_package(folder, None), {})
    assert suite.problems == [
        'tests/a.json "a": items given but no table to put them in: set the case\'s "table" '
        "or tableName in the config"
    ]


def test_a_crashing_handler_is_a_failed_case_not_an_exception(tmp_path: Path) -> None:
    folder = _lambda_folder(
        tmp_path,
        "process.exit(3);\nexport const handler = async (e) => e;\n",
        {"a.json": {"name": "a", "event": TENANT_CASE["event"], "expect": {}}},
    )
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, build_package(folder, CONFIG), CONFIG)
    (problem,) = suite.problems
    assert problem.startswith('tests/a.json "a": the harness failed: the Lambda@Edge container died')


def test_the_embedded_dynamodb_never_touches_this_processs_emulated_aws(aws, tmp_path: Path) -> None:
    """moto's backends are process-wide: an in-process moto server would be the same
    DynamoDB as the sandbox this process runs (`run --sandbox`, the test session), and a
    case's items would replace the routing table of the same name there."""
    from reconciler.functions.emulated_dynamodb import EmulatedDynamoDb, TableSpec

    table = TableSpec.resolve(None, CONFIG)
    assert table is not None
    in_process = EmulatedDynamoDb(aws.endpoint_url)
    in_process.reset_table(table, [{"tenantId": "live", "accountId": "1", "defaultBackend": "x.example.com"}])
    case = {**TENANT_CASE, "expect": {"hostHeader": "premium-api.example.com"}}
    folder = tmp_path / "tenant_router"
    shutil.copytree(EDGE / "tenant_router", folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "tests").mkdir()
    (folder / "tests" / "known.json").write_text(json.dumps(case))
    with EdgeFunctionTester() as tester:
        suite = tester.test_lambda(folder, build_package(folder, CONFIG), CONFIG)
    assert suite.passed, suite.problems
    items = aws.client("dynamodb").scan(TableName=table.name)["Items"]
    assert [i["tenantId"]["S"] for i in items] == ["live"]
