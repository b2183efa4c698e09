"""DynamoDB items (canonical wire form) -> the plain values route files declare, and back
to text (YAML via the route dumper, JSON lines here).

Route items hold text, numbers, booleans, null, lists and maps. Sets and binary have no
spelling in route files, so an item holding one cannot be adopted: the import stops and
names it rather than writing a file that would rewrite the item on the first apply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from reconciler.core.attribute_values import AttributeValue, canonical_item


class UnsupportedValue(ValueError):
    pass


def route_value(value: AttributeValue, where: str) -> Any:
    ((tag, inner),) = value.items()
    if tag == "S":
        return str(inner)
    if tag == "N":
        # Canonical numbers never carry an exponent; integers stay ints so that YAML shows
        # `5`, not `5.0`.
        return Decimal(inner) if "." in inner else int(inner)
    if tag == "BOOL":
        return bool(inner)
    if tag == "NULL":
        return None
    if tag == "L":
        return [route_value(v, f"{where}[{i}]") for i, v in enumerate(inner)]
    if tag == "M":
        return {k: route_value(v, f"{where}.{k}") for k, v in inner.items()}
    raise UnsupportedValue(
        f"{where}: DynamoDB type {tag} (sets and binary) cannot be declared in route files"
    )


def route_item(item: Mapping[str, AttributeValue], where: str) -> dict[str, Any]:
    canonical = canonical_item(item)
    return {name: route_value(canonical[name], f"{where}.{name}") for name in sorted(canonical)}


def json_line(item: Mapping[str, Any]) -> str:
    """One JSONL line with numbers written exactly (json.dumps would go through float)."""
    return _json(item)


def _json(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(str(k), ensure_ascii=False)}: {_json(v)}" for k, v in value.items()
            )
            + "}"
        )
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
