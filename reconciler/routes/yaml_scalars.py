"""YAML scalars -> the few Python types a route file needs (text, int, exact Decimal,
bool, null); everything richer (timestamps, binary) stays the text the operator wrote,
because DynamoDB and the KVS store text, not Python dates."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

Scalar = str | int | bool | Decimal | None
TAG = "tag:yaml.org,2002:"
_TEXT_TAGS = {TAG + "str", TAG + "timestamp", TAG + "binary"}


class Merge:
    """Marks the `<<` key of a YAML merge."""


MERGE = Merge()
resolve_tag = cast(Callable[..., str], Resolver().resolve)
_CONSTRUCTOR = SafeConstructor()
# (mark, path, message, code): how a problem is reported
Report = Callable[[Any, tuple[str | int, ...], str, str], None]


def construct_scalar(
    tag: str, text: str, report: Report, mark: Any, path: tuple[str | int, ...]
) -> Scalar | Merge:
    if tag in _TEXT_TAGS:
        return text
    if tag == TAG + "null":
        return None
    if tag == TAG + "bool":
        return text.lower() in ("yes", "true", "on", "y")
    if tag == TAG + "int":
        result: int = _CONSTRUCTOR.construct_yaml_int(ScalarNode(tag, text))
        return result
    if tag == TAG + "float":
        return _decimal(text)
    if tag == TAG + "merge":
        return MERGE
    report(mark, path, f"unsupported YAML tag {tag!r}", "yaml-tag-unsupported")
    return text


def _decimal(text: str) -> Decimal:
    # Floats become Decimal: DynamoDB numbers are decimal and boto3 refuses Python floats.
    cleaned = text.replace("_", "").lower()
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    try:
        return Decimal(special.get(cleaned, cleaned))
    except InvalidOperation:
        value: float = _CONSTRUCTOR.construct_yaml_float(ScalarNode(TAG + "float", text))
        return Decimal(repr(value))
