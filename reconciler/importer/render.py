"""Imported documents as YAML a person would have written.

- Every file starts with the schema line editors read (`# yaml-language-server:
  $schema=./route-document.schema.json`, the schema written next to the files) and says
  when and from which account it was imported.
- Every document has a comment saying where it came from (ARN, ETag or CodeSha256).
- The fields that decide what the reconciler may do are stated even where they hold the
  default: a table's key schema and `prune`, a store's `prune`, a function's runtime,
  handler, memory and timeout. Spec fields come in reading order (keys before items).
- Table items and key attributes are flow mappings, key attributes first
  (`- {tenantId: acme, accountId: "1001", defaultBackend: ...}`), like the example routes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import yaml

from reconciler.routes import RouteDocument

SCHEMA_FILE = "route-document.schema.json"
SCHEMA_LINE = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"

# kind -> spec fields in the order written; the starred ones are written even when they
# hold the default. Fields not listed follow in the model's order.
_SPEC_ORDER: dict[str, tuple[str, ...]] = {
    "KeyValueStore": ("comment", "*prune", "pruneGuard", "entries"),
    "RoutingTable": (
        "tableName",
        "*partitionKey",
        "*sortKey",
        "*prune",
        "pruneGuard",
        "*originAttributes",
        "items",
        "itemsFrom",
    ),
    "CloudFrontFunction": ("source", "*runtime", "keyValueStore", "comment", "tests"),
    "LambdaEdgeFunction": (
        "source",
        "*runtime",
        "*handler",
        "role",
        "*memorySize",
        "*timeout",
        "description",
        "config",
        "*keepVersions",
        "tests",
    ),
}


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


class _FlowList(list[Any]):
    """A short list written on one line."""


class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # A YAML float, so that reading it back gives the same Decimal (as routes.dump does).
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _flow_list(dumper: yaml.SafeDumper, value: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(Decimal, _decimal)
_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(_FlowList, _flow_list)


def document_data(document: RouteDocument) -> dict[str, Any]:
    full = document.model_dump(mode="python", by_alias=True)
    brief = document.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    spec_full: dict[str, Any] = full["spec"]
    spec_brief: dict[str, Any] = brief.get("spec", {})
    spec: dict[str, Any] = {}
    for entry in _SPEC_ORDER.get(document.kind, ()):
        key = entry.lstrip("*")
        if key in spec_brief or (entry.startswith("*") and key in spec_full):
            spec[key] = spec_full[key]
    spec.update({k: v for k, v in spec_brief.items() if k not in spec})
    if document.kind == "RoutingTable":
        for key in ("partitionKey", "sortKey"):
            if isinstance(spec.get(key), Mapping):
                spec[key] = _Flow(spec[key])
        if "items" in spec:
            spec["items"] = [_Flow(item) for item in spec["items"]]
        if isinstance(spec.get("originAttributes"), list):
            spec["originAttributes"] = _FlowList(spec["originAttributes"])
    return {
        "apiVersion": document.api_version,
        "kind": document.kind,
        "metadata": brief["metadata"],
        "spec": spec,
    }


def file_header(imported_at: datetime, account: str | None, region: str) -> str:
    where = f"account {account}" if account else "the account"
    return (
        f"{SCHEMA_LINE}\n"
        f"# Written by `reconciler import` at {imported_at.strftime('%Y-%m-%dT%H:%M:%SZ')} "
        f"from {where} ({region}).\n"
        "# Review, commit, then check that `reconciler plan` shows no changes before letting\n"
        "# the daemon write.\n"
    )


def render_file(
    header: str, documents: Iterable[RouteDocument], sources: Mapping[tuple[str, str], str]
) -> str:
    parts = []
    for document in documents:
        source = sources.get((document.kind, document.metadata.name))
        comment = "".join(f"# {line}\n" for line in textwrap.wrap(f"From {source}", 88, break_long_words=False, break_on_hyphens=False))
        body = yaml.dump(
            document_data(document),
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=120,
        )
        parts.append(comment + body)
    return header + "---\n".join(parts)
