"""Limits and path rules that need generated files (too big or too odd for the corpus)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.routes import LoadLimits, YamlLimits
from tests.routes.helpers import POLICY, errors, load, write_repo

CFF = """apiVersion: edge.routing/v1
kind: CloudFrontFunction
metadata: {name: tier-router}
spec: {source: fn/index.js}
"""
TABLE = """apiVersion: edge.routing/v1
kind: RoutingTable
metadata: {name: tenants}
spec:
  itemsFrom: [bulk.jsonl]
"""


def test_yaml_file_over_the_byte_limit(tmp_path: Path) -> None:
    root = write_repo(tmp_path, {"routes/p.yaml": POLICY + "# padding\n" * 200})
    from reconciler.routes import RouteSetInvalid, load_route_set

    with pytest.raises(RouteSetInvalid) as raised:
        load_route_set(root / "routes", root, LoadLimits(yaml=YamlLimits(max_file_bytes=1000)))
    (error,) = raised.value.errors
    assert (error.file, error.line, error.code) == ("routes/p.yaml", 1, "yaml-too-large")


def test_bulk_file_over_the_byte_limit(tmp_path: Path) -> None:
    item = {"tenantId": "a", "accountId": "1", "defaultBackend": "a.example.com"}
    root = write_repo(
        tmp_path,
        {
            "routes/p.yaml": POLICY,
            "routes/t.yaml": TABLE,
            "routes/bulk.jsonl": json.dumps(item) * 10,
        },
    )
    from reconciler.routes import RouteSetInvalid, load_route_set

    with pytest.raises(RouteSetInvalid) as raised:
        load_route_set(root / "routes", root, LoadLimits(max_bulk_file_bytes=100))
    assert [e.code for e in raised.value.errors] == ["bulk-too-large"]


def test_store_over_five_megabytes(tmp_path: Path) -> None:
    value = ("a" * 60 + ".") * 3 + "example.com"
    entries = "".join(f"    k{n:06d}: {value}\n" for n in range(27_000))  # ~5.4 MB of keys+values
    store = (
        "apiVersion: edge.routing/v1\nkind: KeyValueStore\nmetadata: {name: s}\nspec:\n  entries:\n"
        + entries
    )
    root = write_repo(tmp_path, {"routes/p.yaml": POLICY, "routes/s.yaml": store})
    assert errors(root) == ["routes/s.yaml:5:spec.entries:kvs-store-too-large"]


def test_item_over_400_kb(tmp_path: Path) -> None:
    big = {
        "tenantId": "a",
        "accountId": "1",
        "defaultBackend": "a.example.com",
        "blob": "x" * 410_000,
    }
    small = {"tenantId": "b", "accountId": "1", "defaultBackend": "b.example.com"}
    bulk = json.dumps(small) + "\n" + json.dumps(big) + "\n"
    root = write_repo(
        tmp_path, {"routes/p.yaml": POLICY, "routes/t.yaml": TABLE, "routes/bulk.jsonl": bulk}
    )
    assert errors(root) == ["routes/bulk.jsonl:2::item-too-large"]


def test_symlinked_source_escaping_the_repository(tmp_path: Path) -> None:
    outside = tmp_path / "outside.js"
    outside.write_text("function handler(e) { return e.request; }\n")
    root = write_repo(tmp_path / "repo", {"routes/f.yaml": CFF})
    (root / "fn").mkdir()
    os.symlink(outside, root / "fn" / "index.js")
    assert errors(root) == ["routes/f.yaml:4:spec.source:path-outside-root"]


def test_symlinked_bulk_file_escaping_the_routes_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.jsonl"
    outside.write_text('{"tenantId": "a", "accountId": "1", "defaultBackend": "a.example.com"}\n')
    root = write_repo(tmp_path / "repo", {"routes/p.yaml": POLICY, "routes/t.yaml": TABLE})
    os.symlink(outside, root / "routes" / "bulk.jsonl")
    assert errors(root) == ["routes/t.yaml:5:spec.itemsFrom[0]:path-outside-root"]


def test_symlinks_inside_the_repository_are_fine(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        {"routes/f.yaml": CFF, "src/real.js": "function handler(e) { return e.request; }\n"},
    )
    (root / "fn").mkdir()
    os.symlink(root / "src" / "real.js", root / "fn" / "index.js")
    assert errors(root) == []


def test_csv_bulk_items_are_typed_by_the_key_schema(tmp_path: Path) -> None:
    table = TABLE.replace("bulk.jsonl", "bulk.csv") + "  sortKey: {name: accountId, type: N}\n"
    csv = 'tenantId,accountId,defaultBackend,note\nacme,1001,a.example.com,\n"glo,bex",2.5,g.example.com,"multi\nline"\nx,3,x.example.com,z\n'
    root = write_repo(
        tmp_path, {"routes/p.yaml": POLICY, "routes/t.yaml": table, "routes/bulk.csv": csv}
    )
    items = load(root).tables["tenants"].items
    assert items[("acme", 1001)] == {
        "tenantId": "acme",
        "accountId": 1001,
        "defaultBackend": "a.example.com",
    }
    assert items[("glo,bex", 2.5)]["note"] == "multi\nline"
    assert load(root).tables["tenants"].item_sources[("x", 3)].line == 5
