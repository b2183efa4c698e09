"""The example routes/ of the repository: the seed's use case, loaded clean."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from reconciler.routes import load_route_set, route_document_schema
from reconciler.routes.errors import ErrorSink
from reconciler.routes.yaml_reader import read_yaml_documents

REPO = Path(__file__).resolve().parents[2]
ROUTES = REPO / "routes"


@pytest.fixture(scope="module")
def route_set():  # type: ignore[no-untyped-def]
    return load_route_set(ROUTES)


def test_examples_load_clean(route_set) -> None:  # type: ignore[no-untyped-def]
    assert route_set.summary() == {
        "files": 4,
        "KeyValueStore": 1,
        "entries": 3,
        "RoutingTable": 1,
        "items": 15,
        "CloudFrontFunction": 1,
        "LambdaEdgeFunction": 1,
        "Distribution": 1,
        "ReconcilerPolicy": 1,
    }
    assert route_set.content_hash.startswith("sha256:")


def test_examples_declare_the_seed_use_case(route_set) -> None:  # type: ignore[no-untyped-def]
    store = route_set.stores["tier-origins"]
    assert store.spec.prune is True
    assert dict(store.spec.entries) == {
        "basic": "basic-api.example.com",
        "standard": "standard-api.example.com",
        "premium": "premium-api.example.com",
    }
    table = route_set.tables["tenant-routing-config-prod"]
    assert (table.partition_key.name, table.sort_key.name) == ("tenantId", "accountId")
    assert table.items[("acme", "1001")]["defaultBackend"] == "acme-backend.example.com"
    assert table.bulk_files == ("routes/tenants/sample.jsonl",)
    assert table.item_sources[("acme", "1001")].file == "routes/tenants/sample.jsonl"
    cff = route_set.cloudfront_functions["tier-router"]
    assert cff.spec.key_value_store == "tier-origins"
    assert route_set.path(cff.spec.source).is_file()
    edge = route_set.lambda_functions["tenant-router"]
    assert edge.spec.config == {"tableName": "tenant-routing-config-prod", "region": "us-east-1"}
    assert edge.spec.keep_versions == 3 and edge.spec.runtime == "nodejs20.x"
    assert route_set.path(edge.spec.source).is_dir()
    shop = route_set.distributions["shop"]
    assert shop.spec.selector.comment == "edge-routing-example"
    default, tenant = shop.spec.behaviors
    assert default.path == "default" and default.viewer_request.function == "tier-router"
    assert tenant.origin_request.lambda_ == "tenant-router" and tenant.origin_request.include_body
    assert (tenant.cache_policy, tenant.origin_request_policy) == (
        "CachingDisabled",
        "AllViewerExceptHostHeader",
    )
    assert route_set.prune_guard(store).max_delete_fraction == 0.25
    assert route_set.source_of("Distribution", "shop").file == "routes/distribution.yaml"


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROUTES / "route-document.schema.json").read_text())
    assert committed == route_document_schema(), (
        "run: reconciler schema --out routes/route-document.schema.json"
    )


def _example_documents() -> list[object]:
    documents: list[object] = []
    for path in sorted(ROUTES.glob("*.yaml")):
        documents += [d.data for d in read_yaml_documents(path.read_text(), path.name, ErrorSink())]
    return documents


def _jsonable(value: object) -> object:
    # The schema describes YAML as JSON sees it: YAML floats are numbers.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def test_schema_validates_the_examples() -> None:
    validator = jsonschema.Draft202012Validator(route_document_schema())
    documents = _example_documents()
    assert len(documents) == 6
    for document in documents:
        validator.validate(_jsonable(document))


def test_schema_rejects_unknown_fields_and_kinds() -> None:
    validator = jsonschema.Draft202012Validator(route_document_schema())
    kvs = {
        "apiVersion": "edge.routing/v1",
        "kind": "KeyValueStore",
        "metadata": {"name": "x"},
        "spec": {},
    }
    validator.validate(kvs)
    assert not validator.is_valid({**kvs, "spec": {"entires": {}}})
    assert not validator.is_valid({**kvs, "kind": "Nope"})
    assert not validator.is_valid({**kvs, "metadata": {"name": "x", "nmae": "y"}})
