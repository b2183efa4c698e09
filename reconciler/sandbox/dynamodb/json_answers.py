"""DynamoDB answers written straight to JSON when they carry items.

moto 5.2.5 converts every answer's items to plain dicts (dynamo_to_dict) and then hands
them to a serializer that walks botocore's model shape by shape; for a page of items
that is most of the cost: a 1 MB Scan page of 14.5k small items took ~5 s to serialize,
its reading ~0.4 s. The items' attribute values are already in the wire's form
(`{"S": ...}`; binary as base64 text or raw bytes), so Scan, Query, BatchGetItem and
GetItem answers are dumped as JSON directly, converting each value once: the same
document, in O(page). Every other answer keeps moto's path. A test compares both writers'
documents for every attribute type.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb import responses as moto_responses
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict

CONTENT_TYPE = "application/x-amz-json-1.0"  # botocore's dynamodb model: jsonVersion 1.0
DIRECT = frozenset({"Scan", "Query", "BatchGetItem", "GetItem"})


def _wire(value: Any) -> Any:
    """json.dumps' fallback: DynamoType values (nested ones too) and raw bytes."""
    if isinstance(value, DynamoType):
        if value.type in ("B", "BS"):
            return {value.type: value.value}  # base64 text from the wire, or bytes below
        return {value.type: value.value}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"no JSON form for {type(value).__name__}")


class WireResult(ActionResult):
    """moto's DynamoResult, converting only when moto's serializer needs it."""

    def __init__(self, result: object) -> None:
        super().__init__(result)  # the raw answer; wrappers may still add top-level keys

    def execute_result(self, context: ActionContext) -> Any:
        if context.operation_model.name in DIRECT:
            body = json.dumps(self._result, default=_wire, separators=(",", ":"))
            return 200, {"Content-Type": CONTENT_TYPE}, body
        self._result = dynamo_to_dict(self._result)
        return super().execute_result(context)


def install() -> None:
    # The handler's methods look the name up at call time.
    moto_responses.DynamoResult = WireResult  # type: ignore[misc,assignment]
