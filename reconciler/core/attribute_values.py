"""DynamoDB attribute values in their wire form, canonicalised, so that declared items and
scanned items compare equal exactly when DynamoDB would store the same thing.

Working on the wire form ({"S": ...}, {"N": ...}) sidesteps float/Decimal/int confusion:
numbers are compared as DynamoDB normalises them, not as Python happens to parse them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def canonical_number(value: int | Decimal | str) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"DynamoDB numbers must be finite: {value!r}")
    if number == 0:
        return "0"
    text = format(number.normalize(), "f")
    return text


def to_attribute_value(value: Any) -> AttributeValue:
    """Python value (as loaded from YAML, JSON or CSV) -> canonical DynamoDB wire form."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": canonical_number(value)}
    if isinstance(value, float):
        return {"N": canonical_number(repr(value))}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def canonical_attribute_value(value: AttributeValue) -> AttributeValue:
    """Wire form as returned by a Scan -> canonical wire form (numbers normalised, sets sorted)."""
    ((tag, inner),) = value.items()
    if tag == "N":
        return {"N": canonical_number(inner)}
    if tag in ("SS", "BS"):
        return {tag: sorted(inner)}
    if tag == "NS":
        return {"NS": sorted(canonical_number(n) for n in inner)}
    if tag == "M":
        return {"M": {k: canonical_attribute_value(v) for k, v in inner.items()}}
    if tag == "L":
        return {"L": [canonical_attribute_value(v) for v in inner]}
    if tag == "B" and isinstance(inner, bytes | bytearray):
        return {"B": base64.b64encode(bytes(inner)).decode("ascii")}
    return {tag: inner}


class ValueInterner:
    """One shared wire value per distinct string or integer, across the items of a table.

    100k tenants repeat a handful of tiers, accounts and backends: sharing their
    `{"S": ...}` values (and the attribute names) instead of holding one dict per
    attribute per item is most of a large table's memory. Wire values are treated as
    immutable everywhere (the diff compares, the executor sends), so sharing is safe.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._strings: dict[str, AttributeValue] = {}
        self._numbers: dict[object, AttributeValue] = {}

    def name(self, name: str) -> str:
        return self._names.setdefault(name, name)

    def python(self, value: Any) -> AttributeValue:
        """`to_attribute_value`, shared for strings and integers."""
        kind = type(value)
        if kind is str:
            found = self._strings.get(value)
            if found is None:
                found = self._strings[value] = {"S": value}
            return found
        if kind is int:  # not bool; str(int) is already DynamoDB's canonical form
            found = self._numbers.get(value)
            if found is None:
                found = self._numbers[value] = {"N": str(value)}
            return found
        return to_attribute_value(value)

    def wire(self, value: AttributeValue) -> AttributeValue:
        """`canonical_attribute_value`, shared for strings and numbers."""
        if len(value) == 1:
            if "S" in value:
                inner = value["S"]
                found = self._strings.get(inner)
                if found is None:
                    found = self._strings[inner] = {"S": inner}
                return found
            if "N" in value:
                raw = value["N"]
                found = self._numbers.get(("N", raw))
                if found is None:
                    found = self._numbers[("N", raw)] = {"N": canonical_number(raw)}
                return found
        return canonical_attribute_value(value)


def canonical_item(item: Mapping[str, AttributeValue], interner: ValueInterner | None = None) -> Item:
    if interner is not None:
        return {interner.name(name): interner.wire(v) for name, v in item.items()}
    return {name: canonical_attribute_value(v) for name, v in item.items()}


def item_from_python(values: Mapping[str, Any], interner: ValueInterner | None = None) -> Item:
    if interner is not None:
        return {interner.name(str(name)): interner.python(v) for name, v in values.items()}
    return {str(name): to_attribute_value(v) for name, v in values.items()}


def plain_value(value: AttributeValue) -> Any:
    """Canonical wire form -> a JSON-friendly value for rendering plans."""
    ((tag, inner),) = value.items()
    if tag == "M":
        return {k: plain_value(v) for k, v in inner.items()}
    if tag == "L":
        return [plain_value(v) for v in inner]
    if tag == "NULL":
        return None
    if tag == "N":
        return Decimal(inner) if "." in inner else int(inner)
    return inner


def plain_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {name: plain_value(v) for name, v in sorted(item.items())}
