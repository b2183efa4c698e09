"""Load -> dump -> load gives equal documents, for every kind and every optional field."""

from __future__ import annotations

import json
import shutil
import string
from decimal import Decimal
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.routes import KeyAttribute, RouteSet, dump_documents
from reconciler.routes.bulk_items import read_bulk_file
from reconciler.routes.dump import _Dumper
from reconciler.routes.errors import ErrorSink
from reconciler.routes.items import ItemRules
from reconciler.routes.origins import dns_name_problem
from reconciler.routes.yaml_reader import read_yaml_documents
from tests.routes.helpers import POLICY, load, write_repo

REPO = Path(__file__).resolve().parents[2]

EVERY_FIELD = (
    POLICY
    + """  pruneGuard: {maxDeleteFraction: 0.5, allowEmpty: true}
---
apiVersion: edge.routing/v1
kind: KeyValueStore
metadata: {name: tier-origins, labels: {team: edge}}
spec:
  comment: tiers
  prune: true
  pruneGuard: {maxDeleteFraction: 0.1}
  entries: {"yes": a.example.com, "1": b.example.com, "null": c.example.com, "ü": d.example.com}
---
apiVersion: edge.routing/v1
kind: RoutingTable
metadata: {name: tenants-doc}
spec:
  tableName: tenants.prod
  partitionKey: {name: pk, type: N}
  sortKey: null
  originAttributes: [primary, fallback]
  items:
    - {pk: 1, primary: a.example.com, fallback: b.example.com, weight: 0.75, on: true, tags: [x, 2], nested: {a: null}}
    - {pk: 2.5, primary: a.example.com, fallback: b.example.com, since: 2024-01-01, empty: ""}
---
apiVersion: edge.routing/v1
kind: CloudFrontFunction
metadata: {name: tier-router}
spec: {source: fn/a.js, keyValueStore: tier-origins, comment: c, runtime: cloudfront-js-2.0, tests: fn/tests}
---
apiVersion: edge.routing/v1
kind: LambdaEdgeFunction
metadata: {name: tenant-router}
spec:
  source: lambda
  runtime: nodejs22.x
  handler: src/main.route
  role: arn:aws:iam::123456789012:role/path/edge
  memorySize: 256
  timeout: 30
  region: us-east-1
  description: d
  config: {tableName: t, retries: 3, ratio: 0.5, flags: [a], deep: {x: {y: null}}}
  keepVersions: 5
  tests: lambda/tests.json
---
apiVersion: edge.routing/v1
kind: LambdaEdgeFunction
metadata: {name: viewer-router}
spec: {source: lambda, handler: src/main.route, runtime: nodejs18.x, role: "arn:aws:iam::123456789012:role/edge"}
---
apiVersion: edge.routing/v1
kind: Distribution
metadata: {name: shop}
spec:
  selector: {alias: "*.shop.example.com"}
  behaviors:
    - path: default
      viewerRequest: {function: tier-router}
      viewerResponse: {lambda: viewer-router}
    - path: /tenant/*
      originRequest: {lambda: tenant-router, includeBody: true}
      originResponse: {lambda: tenant-router}
      cachePolicy: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
      originRequestPolicy: AllViewer
"""
)

SOURCES: dict[str, str | bytes] = {
    "fn/a.js": "function handler(e) { return e.request; }\n",
    "fn/tests/t1.json": "{}\n",
    "lambda/src/main.mjs": "export const route = async () => null;\n",
    "lambda/tests.json": "[]\n",
}


def _documents(route_set: RouteSet) -> list[object]:
    return [
        *route_set.stores.values(),
        *(t.document for t in route_set.tables.values()),
        *route_set.cloudfront_functions.values(),
        *route_set.lambda_functions.values(),
        *route_set.distributions.values(),
        *([route_set.policy] if route_set.policy else []),
    ]


def _round_trip(first: RouteSet, target: Path) -> RouteSet:
    (target / "routes" / "all.yaml").write_text(dump_documents(_documents(first)))  # type: ignore[arg-type]
    return load(target)


def test_every_field_of_every_kind_round_trips(tmp_path: Path) -> None:
    first = load(write_repo(tmp_path / "a", {**SOURCES, "routes/all.yaml": EVERY_FIELD}))
    second = _round_trip(first, write_repo(tmp_path / "b", SOURCES))
    assert _documents(second) == _documents(first)
    items = second.tables["tenants-doc"].items
    assert (
        items[(1,)]["weight"] == Decimal("0.75")
        and items[(Decimal("2.5"),)]["since"] == "2024-01-01"
    )
    assert second.stores["tier-origins"].spec.entries["yes"] == "a.example.com"
    assert second.prune_guard(second.stores["tier-origins"]).max_delete_fraction == 0.1
    assert second.prune_guard(second.tables["tenants-doc"].document).allow_empty is True


def test_example_routes_round_trip(tmp_path: Path) -> None:
    first = load(REPO)
    target = tmp_path / "copy"
    shutil.copytree(
        REPO / "edge_functions",
        target / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    shutil.copytree(REPO / "routes" / "tenants", target / "routes" / "tenants")
    second = _round_trip(first, target)
    assert _documents(second) == _documents(first)
    assert dict(second.tables["tenant-routing-config-prod"].items) == dict(
        first.tables["tenant-routing-config-prod"].items
    )


# Printable keys, including ones YAML would read as other types unless quoted.
_keys = st.one_of(
    st.text(string.ascii_letters + string.digits + "-_.:/ ", min_size=1, max_size=30),
    st.sampled_from(
        ["yes", "no", "on", "null", "~", "1", "0x10", "1e3", "2024-01-01", "<<", "- x", "#"]
    ),
    st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()),
)
# YAML treats NEL and the Unicode line/paragraph separators as line breaks (PyYAML's
# emitter does not escape them), so generated text leaves control characters out.
_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
_label = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
_hostnames = st.lists(_label, min_size=1, max_size=3).map(
    lambda labels: ".".join([*labels, "example", "com"])
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.dictionaries(_keys, _hostnames, max_size=8))
def test_any_store_entries_round_trip_through_yaml(entries: dict[str, str]) -> None:
    document = {
        "apiVersion": "edge.routing/v1",
        "kind": "KeyValueStore",
        "metadata": {"name": "s"},
        "spec": {"entries": entries},
    }
    sink = ErrorSink()
    (read,) = read_yaml_documents(yaml.safe_dump(document, allow_unicode=True), "f.yaml", sink)
    assert not sink.errors
    assert read.data == document


_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9
    ),
)
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), _text, _numbers),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_text.filter(bool), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=80, deadline=None)
@given(item=st.dictionaries(_text.filter(bool), _values, max_size=6))
def test_item_values_round_trip_exactly(item: dict[str, object]) -> None:
    # Numbers stay Decimal/int (never float), text stays text whatever it looks like.
    text = yaml.dump({"items": [item]}, Dumper=_Dumper, allow_unicode=True)
    sink = ErrorSink()
    (read,) = read_yaml_documents(text, "f.yaml", sink)
    assert not sink.errors
    assert read.data == {"items": [item]}


@given(_hostnames)
def test_generated_hostnames_are_valid_origins(name: str) -> None:
    assert dns_name_problem(name) is None
    assert dns_name_problem("https://" + name) is not None
    assert dns_name_problem(name + ":443") is not None
    assert dns_name_problem(name + "/path") is not None


@given(st.text(max_size=300))
def test_origin_check_never_raises_and_refuses_whitespace(text: str) -> None:
    problem = dns_name_problem(text)
    if any(c.isspace() for c in text):
        assert problem is not None


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.dictionaries(_text.filter(bool), _values, max_size=5), min_size=1, max_size=5)
)
def test_jsonl_items_read_back_exactly(items: list[dict[str, object]]) -> None:
    text = "\n".join(_json(item) for item in items)
    rules = ItemRules(KeyAttribute(name="k"), None, (), None)
    sink = ErrorSink()
    rows = read_bulk_file(text.encode(), "b.jsonl", rules, sink)
    assert not sink.errors
    assert [row.item for row in rows] == items
    assert [row.line for row in rows] == list(range(1, len(items) + 1))


def _json(value: object) -> str:
    # json.dumps cannot write a Decimal as a number; bulk files hold exact numbers.
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json(k)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return json.dumps(value)
