"""The face the planner codes against: load_route_set, RouteSet, RouteSetInvalid."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.routes import RouteSetInvalid, SourceRef, load_route_set
from tests.routes.helpers import POLICY, load, write_repo

TABLE = """apiVersion: edge.routing/v1
kind: RoutingTable
metadata: {name: tenants}
spec:
  tableName: tenant-routing-config-prod
  prune: true
  pruneGuard: {maxDeleteFraction: 0.5}
  items:
    - {tenantId: acme, accountId: "1", defaultBackend: a.example.com, weight: 0.5, limits: {rps: 10}}
"""
CFF = """apiVersion: edge.routing/v1
kind: CloudFrontFunction
metadata: {name: tier-router}
spec: {source: fn/index.js}
"""


def test_route_set_gives_typed_access(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"routes/p.yaml": POLICY, "routes/t.yaml": TABLE})
    route_set = load(root)
    table = route_set.tables["tenants"]
    assert table.table_name == "tenant-routing-config-prod" and table.prune
    item = table.items[("acme", "1")]
    assert item["weight"] == Decimal("0.5") and isinstance(item["weight"], Decimal)
    assert item["limits"] == {"rps": 10}
    assert route_set.prune_guard(table.document).max_delete_fraction == 0.5
    assert route_set.source_of("RoutingTable", "tenants") == SourceRef("routes/t.yaml", 1)
    assert route_set.policy is not None and route_set.policy.spec.allowed_origin_patterns == [
        "*.example.com"
    ]
    with pytest.raises(TypeError):
        route_set.tables["x"] = table  # type: ignore[index]


def test_content_hash_follows_every_input(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {"routes/f.yaml": CFF, "fn/index.js": "function handler(e) { return e.request; }\n"},
    )
    first = load(root).content_hash
    assert load(root).content_hash == first
    (root / "fn" / "index.js").write_text("function handler(e) { return e.request; } \n")
    assert load(root).content_hash != first


def test_default_root_is_the_parent_of_the_routes_folder(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path, {"routes/f.yaml": CFF, "fn/index.js": "function handler(e) { return 1; }\n"}
    )
    assert load_route_set(root / "routes").root == root.resolve()


def test_invalid_set_raises_with_every_error_sorted(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"routes/b.yaml": CFF, "routes/a.yaml": "kind: Nope\n"})
    with pytest.raises(RouteSetInvalid) as raised:
        load(root)
    assert [(e.file, e.code) for e in raised.value.errors] == [
        ("routes/a.yaml", "kind-unknown"),
        ("routes/b.yaml", "path-not-found"),
    ]
    assert raised.value.errors[0].to_json()["line"] == 1


def test_route_models_do_not_import_the_aws_sdk() -> None:
    code = "import sys, reconciler.routes; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'moto')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
