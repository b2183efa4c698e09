"""BatchWriteItem's 25-request limit, which moto alone does not enforce."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "tenantId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tenantId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _puts(n: int) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {"tenantId": {"S": f"t{i}"}}}} for i in range(n)]


def test_batch_write_item_accepts_25(aws: Any) -> None:
    ddb = aws.client("dynamodb")
    _table(ddb, "t")
    ddb.batch_write_item(RequestItems={"t": _puts(25)})
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 25


def test_batch_write_item_rejects_26_for_one_table(aws: Any) -> None:
    ddb = aws.client("dynamodb")
    _table(ddb, "t")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={"t": _puts(26)})
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Member must have length less than or equal to 25" in error["Message"]
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 0


def test_batch_write_item_rejects_more_than_25_across_tables(aws: Any) -> None:
    ddb = aws.client("dynamodb")
    _table(ddb, "a")
    _table(ddb, "b")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={"a": _puts(13), "b": _puts(13)})
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "Too many items requested for the BatchWriteItem call"
