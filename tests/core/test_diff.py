"""The data diff: exactly the difference, prune only where declared, the guard, key schemas."""

from __future__ import annotations

from reconciler.core.attribute_values import item_from_python
from reconciler.core.diff import plan_data
from reconciler.core.model import Action, Address, Phase, ResourceKind
from reconciler.core.plan_json import plan_from_dict, plan_to_dict
from reconciler.core.render import render_json, render_markdown, render_text
from reconciler.core.state import (
    DesiredData,
    DesiredStore,
    DesiredTable,
    KeyAttribute,
    KeySchema,
    KeyType,
    ObservedData,
    ObservedStore,
    ObservedTable,
    PruneGuard,
    item_key,
)

SCHEMA = KeySchema(KeyAttribute("tenantId"), KeyAttribute("accountId"))


def store(entries: dict[str, str], prune: bool = True) -> DesiredData:
    return DesiredData(stores=(DesiredStore("tiers", entries, prune),))


def seen(entries: dict[str, str]) -> ObservedData:
    return ObservedData(stores={"tiers": ObservedStore("tiers", True, "arn:x", "E1", entries)})


def table_items(*rows: dict[str, object]) -> dict[tuple[str, ...], dict[str, dict[str, object]]]:
    items = [item_from_python(r) for r in rows]
    return {item_key(i, SCHEMA): i for i in items}


def test_missing_store_is_created_then_filled() -> None:
    plan = plan_data(store({"a": "a.example.com"}), ObservedData())
    assert [(c.address.kind, c.action, c.phase) for c in plan.changes] == [
        (ResourceKind.KEY_VALUE_STORE, Action.CREATE, Phase.ENSURE),
        (ResourceKind.KVS_ENTRY, Action.CREATE, Phase.DATA),
    ]
    assert dict(plan.observed_versions) == {"kvs:tiers": "absent"}


def test_only_differences_are_planned() -> None:
    plan = plan_data(
        store({"same": "s.example.com", "edit": "new.example.com", "add": "n.example.com"}),
        seen({"same": "s.example.com", "edit": "old.example.com", "gone": "g.example.com"}),
    )
    got = {(c.address.key, c.action, c.before, c.after) for c in plan.changes}
    assert got == {
        ("add", Action.CREATE, None, "n.example.com"),
        ("edit", Action.UPDATE, "old.example.com", "new.example.com"),
        ("gone", Action.DELETE, "g.example.com", None),
    }
    assert [c.phase for c in plan.changes] == [Phase.DATA, Phase.DATA, Phase.PRUNE]


def test_prune_off_never_deletes() -> None:
    plan = plan_data(store({}, prune=False), seen({"x": "x.example.com"}))
    assert plan.empty and plan.applicable


def test_converged_plan_is_empty() -> None:
    plan = plan_data(store({"a": "a.example.com"}), seen({"a": "a.example.com"}))
    assert plan.empty
    assert "No changes" in render_text(plan)


def test_guard_refuses_mass_delete_and_names_numbers() -> None:
    observed = {f"k{i}": "v.example.com" for i in range(20)}
    plan = plan_data(store({f"k{i}": "v.example.com" for i in range(10)}), seen(observed))
    assert not plan.applicable
    (violation,) = plan.violations
    assert (violation.deletes, violation.existing) == (10, 20)
    assert "delete 10 of 20 (50%)" in violation.message
    assert "refused:" in render_text(plan)


def test_guard_allows_small_edits_and_override() -> None:
    three = {"basic": "b.example.com", "standard": "s.example.com", "premium": "p.example.com"}
    small = plan_data(store({"basic": "b.example.com", "standard": "s.example.com"}), seen(three))
    assert small.applicable, "removing one tier of three is a normal edit"
    override = DesiredData(
        stores=(DesiredStore("tiers", {}, True),), guard=PruneGuard(allow_mass_delete=True)
    )
    assert plan_data(override, seen(three)).applicable


def test_guard_refuses_emptying() -> None:
    plan = plan_data(store({}), seen({"a": "a.example.com"}))
    (violation,) = plan.violations
    assert "empty" in violation.message
    allowed = DesiredData(stores=(DesiredStore("tiers", {}, True),), guard=PruneGuard(allow_empty=True))
    assert plan_data(allowed, seen({"a": "a.example.com"})).applicable


def test_table_items_compare_in_canonical_wire_form() -> None:
    desired = DesiredData(
        tables=(
            DesiredTable(
                "t",
                SCHEMA,
                table_items(
                    {"tenantId": "acme", "accountId": "1", "defaultBackend": "a.example.com", "weight": 1.0}
                ),
                prune=True,
            ),
        )
    )
    live = table_items({"tenantId": "acme", "accountId": "1", "defaultBackend": "a.example.com", "weight": 1})
    observed = ObservedData(tables={"t": ObservedTable("t", True, SCHEMA, live, "d1")})
    assert plan_data(desired, observed).empty, "1.0 and 1 are the same DynamoDB number"


def test_table_key_schema_mismatch_is_an_error_not_a_change() -> None:
    desired = DesiredData(tables=(DesiredTable("t", SCHEMA, {}, False),))
    other = KeySchema(KeyAttribute("tenantId", KeyType.N))
    plan = plan_data(desired, ObservedData(tables={"t": ObservedTable("t", True, other, {}, "d")}))
    assert plan.empty and not plan.applicable
    assert "never recreates tables" in plan.errors[0].message


def test_renderings_and_json_round_trip() -> None:
    desired = DesiredData(
        stores=(DesiredStore("tiers", {"premium": "p.example.com"}, True),),
        tables=(
            DesiredTable("t", SCHEMA, table_items({"tenantId": "a", "accountId": "1", "n": 2}), True),
        ),
    )
    plan = plan_data(desired, ObservedData(), "digest1")
    text = render_text(plan)
    assert '+ kvs_entry.tiers[\'premium\'] = "p.example.com"' in text
    assert "Plan: 4 to create, 0 to update, 0 to delete." in text
    assert '"n": 2' in text  # items are shown as plain values, not wire form
    assert "| + | `table_item.t['tenantId=a,accountId=1']`" in render_markdown(plan)
    assert plan_from_dict(plan_to_dict(plan)) == plan
    assert '"desiredDigest": "digest1"' in render_json(plan)


def test_address_str_is_stable() -> None:
    assert str(Address(ResourceKind.KVS_ENTRY, "tiers", "gold")) == "kvs_entry.tiers['gold']"
