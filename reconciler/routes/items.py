"""Checks of one DynamoDB item, shared by inline items and bulk files.

Returns problems instead of raising so that one pass over 100k items reports them all.
Sizes follow DynamoDB's documented accounting (attribute name bytes + value bytes, numbers
~1 byte per 2 significant digits + 1, 3 bytes of overhead per list or map); they are an
estimate, close enough to refuse what AWS would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from reconciler.routes.data_kinds import KeyAttribute
from reconciler.routes.limits import (
    DYNAMODB_ITEM_MAX_BYTES,
    DYNAMODB_MAX_NESTING,
    DYNAMODB_PARTITION_KEY_MAX_BYTES,
    DYNAMODB_SORT_KEY_MAX_BYTES,
)
from reconciler.routes.origins import origin_problem

KeyValue = str | int | Decimal
ItemKey = tuple[KeyValue, ...]
Item = dict[str, Any]


@dataclass(frozen=True)
class ItemRules:
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None
    origin_attributes: tuple[str, ...]
    origin_patterns: tuple[str, ...] | None

    @cached_property
    def keys(self) -> tuple[KeyAttribute, ...]:
        return (
            (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)
        )


@dataclass(frozen=True)
class ItemProblem:
    attribute: str  # empty for the item as a whole
    message: str
    code: str


def describe_key(rules: ItemRules, key: ItemKey) -> str:
    return ", ".join(f"{attr.name}={value!r}" for attr, value in zip(rules.keys, key, strict=True))


def check_item(item: Item, rules: ItemRules) -> tuple[ItemKey | None, list[ItemProblem]]:
    """The item's primary key (None when unusable) and every problem found in it."""
    problems: list[ItemProblem] = []
    key: list[KeyValue] = []
    for attr in rules.keys:
        value = _check_key_attribute(item, attr, attr is rules.partition_key, problems)
        if value is not None:
            key.append(value)
    for name in rules.origin_attributes:
        if name not in item:
            problems.append(
                ItemProblem(name, f"origin attribute {name!r} is missing", "item-origin-missing")
            )
            continue
        found = origin_problem(item[name], rules.origin_patterns)
        if found is not None:
            problems.append(ItemProblem(name, *found))
    size = 0
    for name, value in item.items():
        size += _utf8_length(name)
        if type(value) is str:
            # Flat text is nearly every attribute of a routing item: skip the generic walk.
            size += _utf8_length(value)
        else:
            size += _value_size(value, name, 1, problems)
    if size > DYNAMODB_ITEM_MAX_BYTES:
        problems.append(
            ItemProblem(
                "",
                f"item is about {size} bytes; DynamoDB allows {DYNAMODB_ITEM_MAX_BYTES}",
                "item-too-large",
            )
        )
    return (tuple(key) if len(key) == len(rules.keys) else None), problems


def _utf8_length(text: str) -> int:
    # ASCII text (nearly all of it) is its own length; isascii() reads a flag, no copy.
    return len(text) if text.isascii() else len(text.encode())


def _check_key_attribute(
    item: Item, attr: KeyAttribute, is_partition: bool, problems: list[ItemProblem]
) -> KeyValue | None:
    if attr.name not in item:
        problems.append(
            ItemProblem(attr.name, f"key attribute {attr.name!r} is missing", "item-key-missing")
        )
        return None
    value = item[attr.name]
    if attr.type == "S":
        if not isinstance(value, str):
            hint = (
                ": quote it"
                if isinstance(value, int | Decimal) and not isinstance(value, bool)
                else ""
            )
            problems.append(
                ItemProblem(
                    attr.name,
                    f"key attribute {attr.name!r} must be a string (type S), got {_type_name(value)} {value!r}{hint}",
                    "item-key-type",
                )
            )
            return None
        if not value:
            problems.append(
                ItemProblem(attr.name, "key attribute must not be empty", "item-key-type")
            )
            return None
        limit = DYNAMODB_PARTITION_KEY_MAX_BYTES if is_partition else DYNAMODB_SORT_KEY_MAX_BYTES
        if _utf8_length(value) > limit:
            problems.append(
                ItemProblem(
                    attr.name, f"key value is longer than {limit} bytes", "item-key-too-long"
                )
            )
            return None
        return value
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or not _finite(value):
        problems.append(
            ItemProblem(
                attr.name,
                f"key attribute {attr.name!r} must be a number (type N), got {_type_name(value)} {value!r}",
                "item-key-type",
            )
        )
        return None
    return value


def _finite(value: int | Decimal) -> bool:
    return isinstance(value, int) or value.is_finite()


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    return (
        "list"
        if isinstance(value, list)
        else "map"
        if isinstance(value, dict)
        else type(value).__name__
    )


def _value_size(value: object, name: str, depth: int, problems: list[ItemProblem]) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            problems.append(
                ItemProblem(name, f"{value} is not a DynamoDB number", "item-value-invalid")
            )
            return 1
        digits = len(str(abs(value)).replace(".", "").strip("0")) or 1
        if digits > 38:
            problems.append(
                ItemProblem(
                    name, "numbers have at most 38 significant digits", "item-value-invalid"
                )
            )
        return (digits + 1) // 2 + 1
    if depth > DYNAMODB_MAX_NESTING:
        problems.append(
            ItemProblem(
                name, f"nested deeper than {DYNAMODB_MAX_NESTING} levels", "item-value-invalid"
            )
        )
        return 0
    if isinstance(value, list):
        return 3 + sum(_value_size(v, name, depth + 1, problems) for v in value)
    if isinstance(value, dict):
        return 3 + sum(
            len(str(k).encode()) + _value_size(v, name, depth + 1, problems)
            for k, v in value.items()
        )
    problems.append(
        ItemProblem(name, f"unsupported value type {type(value).__name__}", "item-value-invalid")
    )
    return 0
