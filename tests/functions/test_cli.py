"""`reconciler test-functions` end to end."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from reconciler.cli import main
from tests.functions.conftest import EDGE


def test_all_functions_pass_in_json(aws):
    result = CliRunner().invoke(
        main,
        [
            "test-functions",
            "--root",
            str(EDGE.parent),
            "--format",
            "json",
            "--dynamodb-endpoint",
            aws.endpoint_url,
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {r["function"]: r["kind"] for r in report} == {
        "tenant_router": "lambda-edge",
        "tier_router": "cloudfront-function",
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
