"""Puts a Lambda@Edge test case's items into a fresh routing table of the emulated AWS.

Takes any DynamoDB client (boto3's, made by reconciler.aws.clients), so this package
never builds AWS clients itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}


def reset_table(client: Any, config: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
    """Drop and recreate config['tableName'] with exactly `items` (keys as strings)."""
    table = config["tableName"]
    pk = config.get("partitionKey", "tenantId")
    sk = config.get("sortKey", "accountId")
    if table in client.list_tables()["TableNames"]:
        client.delete_table(TableName=table)
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": sk, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": pk, "AttributeType": "S"},
            {"AttributeName": sk, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for item in items:
        client.put_item(TableName=table, Item={k: _attribute(v) for k, v in item.items()})
