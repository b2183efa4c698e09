"""`reconciler test-functions` end to end (the EdgeFunctionTester behind it, real Node, a
real moto DynamoDB)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner

from reconciler.cli import main
from tests.functions.conftest import EDGE, REPO

TENANT_CASES = (
    "01-known-tenant-routes-to-its-backend.json",
    "12-dynamodb-unreachable-stays-on-default-origin.json",
)


@pytest.fixture(autouse=True)
def _keep_logging_config():
    # Invoking the `main` group runs configure_logging(), which rebinds structlog to the
    # CliRunner's (soon closed) stderr for the rest of the session; later tests that read
    # log lines from capsys would then see nothing.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _tenant_router(into: Path, cases: tuple[str, ...] = TENANT_CASES) -> Path:
    tenant = into / "edge_functions" / "tenant_router"
    shutil.copytree(EDGE / "tenant_router", tenant, ignore=shutil.ignore_patterns("tests"))
    (tenant / "tests").mkdir()
    for name in cases:
        shutil.copy(EDGE / "tenant_router" / "tests" / name, tenant / "tests" / name)
    return tenant


def test_all_functions_pass_in_json_with_the_embedded_dynamodb(tmp_path):
    # Every tier case, and two tenant cases (all of them run in test_tenant_router.py);
    # no --dynamodb-endpoint: the tester starts its own moto server, and no function
    # folder has node_modules: the SDK is the harness's stand-in of the runtime's.
    shutil.copytree(EDGE / "tier_router", tmp_path / "edge_functions" / "tier_router")
    _tenant_router(tmp_path)
    result = CliRunner().invoke(
        main, ["test-functions", "--root", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {r["function"]: (r["kind"], len(r["tests"])) for r in report} == {
        "tenant_router": ("lambda-edge", 2),
        "tier_router": (
            "cloudfront-function",
            len(list((EDGE / "tier_router" / "tests").glob("*.json"))),
        ),
    }
    assert all(t["passed"] and t["ms"] > 0 for r in report for t in r["tests"])


def test_a_failing_case_and_a_static_finding_exit_1(tmp_path):
    fn = tmp_path / "edge_functions" / "tier_router"
    shutil.copytree(EDGE / "tier_router", fn)
    case = json.loads((fn / "tests" / "01-premium-routes-to-premium-origin.json").read_text())
    case["expect"]["origin"] = {"domainName": "wrong.example.com"}
    (fn / "tests" / "01-premium-routes-to-premium-origin.json").write_text(json.dumps(case))
    code = (fn / "index.js").read_text()
    (fn / "index.js").write_text(
        code.replace("const TIER_PARAM = 'ctier';", "const TIER_PARAM = 'ctier' ?? 'x';")
    )
    result = CliRunner().invoke(main, ["test-functions", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL static" in result.output and "[nullish-coalescing]" in result.output
    # The problem names the file and the case, and says expected and actual.
    assert (
        'tests/01-premium-routes-to-premium-origin.json "premium-routes-to-premium-origin": '
        "origin.domainName expected 'wrong.example.com', got 'premium-api.example.com'"
    ) in result.output


def test_a_failing_lambda_case_names_file_name_expected_and_actual(tmp_path):
    tenant = _tenant_router(tmp_path, TENANT_CASES[:1])
    path = tenant / "tests" / TENANT_CASES[0]
    case = json.loads(path.read_text())
    case["expect"]["hostHeader"] = "wrong.example.com"
    path.write_text(json.dumps(case))
    result = CliRunner().invoke(main, ["test-functions", "--root", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert (
        f'tests/{TENANT_CASES[0]} "known-tenant-routes-to-its-backend": '
        "hostHeader expected 'wrong.example.com', got 'premium-api.example.com'"
    ) in result.output


def test_a_broken_test_event_file_is_a_clear_error(tmp_path):
    tests = tmp_path / "edge_functions" / "tier_router" / "tests"
    tests.mkdir(parents=True)
    (tests.parent / "index.js").write_text("function handler(event) { return event.request; }\n")
    (tests / "01-bad.json").write_text("{not json")
    result = CliRunner().invoke(main, ["test-functions", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "01-bad.json" in result.output and "Traceback" not in result.output


def test_missing_edge_functions_dir(tmp_path):
    result = CliRunner().invoke(main, ["test-functions", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "edge_functions: no such directory" in result.output


def test_an_imported_function_without_package_json_or_example_config_runs(tmp_path):
    """What `reconciler import` writes for a console-built function: index.mjs and tests
    only. It imports the runtime's SDK (lib-dynamodb) and has no config at all."""
    fn = tmp_path / "edge_functions" / "console-fn"
    (fn / "tests").mkdir(parents=True)
    (fn / "index.mjs").write_text(
        'import { DynamoDBClient } from "@aws-sdk/client-dynamodb";\n'
        'import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";\n'
        "const db = DynamoDBDocumentClient.from(new DynamoDBClient({region: 'us-east-1'}));\n"
        "export const handler = async (event) => {\n"
        "  const request = event.Records[0].cf.request;\n"
        "  const got = await db.send(new GetCommand({TableName: 'routes', Key: {tenantId: 'a', accountId: '1'}}));\n"
        "  request.headers.host = [{key: 'host', value: got.Item.defaultBackend}];\n"
        "  return request;\n"
        "};\n"
    )
    tenant_case = json.loads((EDGE / "tenant_router" / "tests" / TENANT_CASES[0]).read_text())
    (fn / "tests" / "known.json").write_text(
        json.dumps(
            {
                "name": "known",
                "event": tenant_case["event"],
                "table": "routes",
                "items": [{"tenantId": "a", "accountId": "1", "defaultBackend": "a.example.com"}],
                "expect": {"hostHeader": "a.example.com"},
            }
        )
    )
    result = CliRunner().invoke(main, ["test-functions", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1/1 tests passed" in result.output


def test_declared_functions_are_tested_as_their_documents_say(tmp_path):
    """The tier cases without `kvs` run against the store the route files declare; the
    Lambda package gets the document's config (not config.example.json)."""
    from reconciler.cli.test_functions import functions_under_test, run_all

    shutil.copytree(REPO / "routes", tmp_path / "routes")
    fn = tmp_path / "edge_functions" / "tier_router"
    shutil.copytree(EDGE / "tier_router", fn, ignore=shutil.ignore_patterns("tests"))
    (fn / "tests").mkdir()
    case = json.loads(
        (EDGE / "tier_router" / "tests" / "01-premium-routes-to-premium-origin.json").read_text()
    )
    case.pop("kvs", None)
    case["expect"]["origin"] = {"domainName": "gold-api.example.com"}
    (fn / "tests" / "01-declared.json").write_text(json.dumps(case))
    tiers = tmp_path / "routes" / "tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace(
            "premium: premium-api.example.com", "premium: gold-api.example.com"
        )
    )
    tenant = _tenant_router(tmp_path, TENANT_CASES[:1])
    (tenant / "config.example.json").write_text('{"tableName": "not-this-one", "region": "us-east-1"}')

    functions = functions_under_test(tmp_path, tmp_path / "routes")
    assert [(f.name, f.kind.value) for f in functions] == [
        ("tier-router", "cloudfront-function"),
        ("tenant-router", "lambda-edge"),
    ]
    assert functions[0].kvs_defaults is not None
    assert functions[0].kvs_defaults["premium"] == "gold-api.example.com"
    tier, lam = run_all(functions, None)
    assert tier.passed, tier.problems
    assert lam.passed, lam.problems  # items went to the declared table, the package reads it
    # Without the declared entries the same tier case has no store to read and fails.
    (bare,) = run_all([functions[0].__class__(**{**functions[0].__dict__, "kvs_defaults": None})], None)
    assert not bare.passed
