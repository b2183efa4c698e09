"""JSON Schema of a route document, for yaml-language-server, editors and pre-commit."""

from __future__ import annotations

from typing import Any

from reconciler.routes.documents import ROUTE_DOCUMENT_ADAPTER

SCHEMA_ID = "https://edge.routing/schemas/v1/route-document.json"


def route_document_schema() -> dict[str, Any]:
    """A oneOf over the document kinds, discriminated by `kind` (field names as in YAML)."""
    schema = ROUTE_DOCUMENT_ADAPTER.json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "edge.routing/v1 route document",
        **schema,
    }
