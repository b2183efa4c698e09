"""`reconciler validate` and `reconciler schema` as operators and CI run them.

The commands are invoked directly, not through the `main` group: the group configures
structlog for the whole session, which would leak into other tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import schema as schema_cli
from reconciler.cli import validate
from tests.routes.helpers import POLICY, write_repo

REPO = Path(__file__).resolve().parents[2]


def test_validate_examples_exits_zero_with_a_summary() -> None:
    result = CliRunner().invoke(validate.command, [str(REPO / "routes")])
    assert result.exit_code == 0, result.output
    assert "valid: 4 files, 1 KeyValueStore, 1 RoutingTable" in result.output
    assert "3 store entries, 15 table items" in result.output


def test_validate_prints_one_line_per_error_and_exits_one(tmp_path: Path) -> None:
    kvs = "apiVersion: edge.routing/v1\nkind: KeyValueStore\nmetadata: {name: t}\nspec:\n  entries:\n    premium: https://x\n"
    root = write_repo(tmp_path, {"routes/policy.yaml": POLICY, "routes/tiers.yaml": kvs})
    result = CliRunner().invoke(validate.command, [str(root / "routes"), "--root", str(root)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "routes/tiers.yaml:6:5: spec.entries.premium: value is not a valid DNS name: 'https://x' (no scheme allowed) [origin-invalid]"
    ]


def test_validate_json_format(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"routes/a.yaml": "kind: Nope\n"})
    result = CliRunner().invoke(validate.command, [str(root / "routes"), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["valid"] is False and payload["errors"][0]["code"] == "kind-unknown"
    ok = CliRunner().invoke(validate.command, [str(REPO / "routes"), "--format", "json"])
    assert json.loads(ok.stdout)["summary"]["items"] == 15


def test_schema_writes_a_discriminated_one_of(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = CliRunner().invoke(schema_cli.command, ["--out", str(out)])
    assert result.exit_code == 0
    schema = json.loads(out.read_text())
    assert schema["discriminator"]["propertyName"] == "kind"
    assert len(schema["oneOf"]) == 6
    printed = CliRunner().invoke(schema_cli.command, [])
    assert json.loads(printed.stdout) == schema
