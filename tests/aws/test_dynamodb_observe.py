"""DynamoDbAdapter.observe over the wire: items equal to their declaration come back as the
declared objects (one copy of an unchanged table in memory, identity for "unchanged"),
everything else canonical, and the result is the same observation either way."""

from __future__ import annotations

from typing import Any

from reconciler.aws.dynamodb import DynamoDbAdapter
from reconciler.core.attribute_values import item_from_python
from reconciler.core.state import KeyAttribute, KeySchema, item_key

SCHEMA = KeySchema(KeyAttribute("tenantId"), KeyAttribute("accountId"))


def _declared(n: int) -> dict[Any, Any]:
    items = [
        item_from_python({"tenantId": f"t{i}", "accountId": "1", "weight": i, "tier": "basic"})
        for i in range(n)
    ]
    return {item_key(item, SCHEMA): item for item in items}


def test_declared_objects_are_shared_and_differences_are_read(aws: Any) -> None:
    adapter = DynamoDbAdapter(aws.target)
    adapter.create("t", SCHEMA)
    adapter.wait_active("t")
    declared = _declared(60)
    ddb = aws.client("dynamodb")
    for key, item in declared.items():
        live = dict(item)
        if key == ("t7", "1"):
            live["tier"] = {"S": "premium"}  # changed by hand
        ddb.put_item(TableName="t", Item=live)
    ddb.put_item(TableName="t", Item={"tenantId": {"S": "extra"}, "accountId": {"S": "1"}})
    del declared[("t9", "1")]  # declared no more

    shared = adapter.observe("t", declared=declared)
    plain = adapter.observe("t")

    assert shared.items == plain.items  # the same observation, whatever is shared
    assert shared.digest == plain.digest
    for key, item in shared.items.items():
        same = declared.get(key) is not None and declared[key] == item
        assert (item is declared.get(key)) == same, key
    assert shared.items[("t7", "1")]["tier"] == {"S": "premium"}
    assert ("extra", "1") in shared.items and ("t9", "1") in shared.items
    declared_keys = {k: k for k in declared}
    for key in shared.items:  # the observation's keys are the declared key objects too
        if key in declared_keys and key != ("t7", "1"):
            assert key is declared_keys[key], key
