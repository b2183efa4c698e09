"""`reconciler test-functions` end to end."""

from __future__ import annotations

import json
import shutil

import pytest
import structlog
from click.testing import CliRunner

from reconciler.cli import main
from tests.functions.conftest import EDGE


@pytest.fixture(autouse=True)
def _keep_logging_config():
    # Invoking the `main` group runs configure_logging(), which rebinds structlog to the
    # CliRunner's (soon closed) stderr for the rest of the session; later tests that read
    # log lines from capsys would then see nothing.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_all_functions_pass_in_json(aws, tmp_path):
    # Every tier case, and two tenant cases (all of them run in test_tenant_router.py):
    # each Lambda@Edge case is a Node subprocess, which is what makes this test slow.
    edge = tmp_path / "edge_functions"
    shutil.copytree(EDGE / "tier_router", edge / "tier_router")
    tenant = edge / "tenant_router"
    shutil.copytree(
        EDGE / "tenant_router", tenant, ignore=shutil.ignore_patterns("node_modules", "tests")
    )
    (tenant / "node_modules").symlink_to(EDGE / "tenant_router" / "node_modules")
    (tenant / "tests").mkdir()
    for name in (
        "01-known-tenant-routes-to-its-backend.json",
        "12-dynamodb-unreachable-stays-on-default-origin.json",
    ):
        shutil.copy(EDGE / "tenant_router" / "tests" / name, tenant / "tests" / name)
    result = CliRunner().invoke(
        main,
        [
            "test-functions",
            "--root",
            str(tmp_path),
            "--format",
            "json",
            "--dynamodb-endpoint",
            aws.endpoint_url,
        ],
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
    assert "FAIL" in result.output and "premium-routes-to-premium-origin" in result.output
    assert "expected 'wrong.example.com'" in result.output


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


def test_tier_cases_without_their_own_kvs_use_the_declared_store(tmp_path):
    """A case without `kvs` runs against the entries routes/ declares for the function's store."""
    from reconciler.cli.test_functions import declared_store_entries, run_all
    from tests.passes.conftest import REPO

    shutil.copytree(REPO / "routes", tmp_path / "routes")
    fn = tmp_path / "edge_functions" / "tier_router"
    shutil.copytree(EDGE / "tier_router", fn, ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(EDGE / "tenant_router", tmp_path / "edge_functions" / "tenant_router", ignore=shutil.ignore_patterns("node_modules"))
    (fn / "tests").mkdir()
    case = json.loads((EDGE / "tier_router" / "tests" / "01-premium-routes-to-premium-origin.json").read_text())
    case.pop("kvs", None)
    case["expect"]["origin"] = {"domainName": "gold-api.example.com"}
    (fn / "tests" / "01-declared.json").write_text(json.dumps(case))
    tiers = tmp_path / "routes" / "tiers.yaml"
    tiers.write_text(tiers.read_text().replace("premium: premium-api.example.com", "premium: gold-api.example.com"))

    entries = declared_store_entries(tmp_path, tmp_path / "routes")
    assert entries[fn.resolve()]["premium"] == "gold-api.example.com"
    shutil.rmtree(tmp_path / "edge_functions" / "tenant_router")  # only the tier suite runs below
    (suite,) = run_all(tmp_path, None, entries)
    assert suite.passed, [o.problems for o in suite.outcomes]
    # Without the declared entries the same case has no store to read and fails.
    (bare,) = run_all(tmp_path, None, {})
    assert not bare.passed
