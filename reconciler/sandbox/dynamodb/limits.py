"""DynamoDB limits that moto does not enforce but real AWS does.

BatchWriteItem takes at most 25 requests per call. moto applies any number, so a client
that forgets to chunk would pass every test and fail on AWS. AWS answers two ways: a
single table's list over 25 fails the request-shape constraint, and a total over 25
across tables fails with "Too many items requested". Both are ValidationException.
"""

from __future__ import annotations

from typing import Any

BATCH_WRITE_MAX_REQUESTS = 25
TOO_MANY_ITEMS = "Too many items requested for the BatchWriteItem call"

_installed = False


def _shape_error(table_name: str) -> str:
    return (
        f"1 validation error detected: Value '{{{table_name}=[...]}}' at 'requestItems' "
        "failed to satisfy constraint: Map value must satisfy constraint: "
        f"[Member must have length less than or equal to {BATCH_WRITE_MAX_REQUESTS}, "
        "Member must have length greater than or equal to 1]"
    )


def install() -> None:
    """Wrap moto's BatchWriteItem handler with AWS's request-count check (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_write_item

    def batch_write_item(self: DynamoHandler) -> Any:
        request_items: dict[str, list[Any]] = self.body.get("RequestItems") or {}
        for table_name, requests in request_items.items():
            if len(requests) > BATCH_WRITE_MAX_REQUESTS:
                raise MockValidationException(_shape_error(table_name))
        if sum(len(r) for r in request_items.values()) > BATCH_WRITE_MAX_REQUESTS:
            raise MockValidationException(TOO_MANY_ITEMS)
        return original(self)

    batch_write_item.__wrapped__ = original  # type: ignore[attr-defined]
    DynamoHandler.batch_write_item = batch_write_item  # type: ignore[method-assign]
    _installed = True
