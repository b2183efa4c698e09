"""The data diff: exactly the difference, prune only where declared, the guard, key schemas."""

from __future__ import annotations

from fractions import Fraction

import pytest

from reconciler.core.attribute_values import item_from_python
from reconciler.core.diff import plan_data
from reconciler.core.model import Action, Address, Phase, Plan, ResourceKind
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
    assert "delete 10 of 20 (50%): refused" in violation.message
    assert "limit 5 = max(floor(maxDeleteFraction 0.25 * 20 keys), minDeletesAllowed 0)" in violation.message
    assert "refused" in render_text(plan)


def _tiers(n: int) -> dict[str, str]:
    return {f"t{i}": f"t{i}.example.com" for i in range(n)}


def _prune(existing: int, deletes: int, guard: PruneGuard, creates: int = 0) -> Plan:
    declared = {k: v for k, v in list(_tiers(existing).items())[deletes:]}
    declared.update({f"new{i}": "n.example.com" for i in range(creates)})
    desired = DesiredData(stores=(DesiredStore("tiers", declared, True),), guard=guard)
    return plan_data(desired, seen(_tiers(existing)))


def test_the_issue_cases_with_the_default_policy() -> None:
    """Issue 14.3: 3 of 4 went through under a 25 % limit (an unwritten allowance of 3),
    and 1 of 4 under 10 %. The rule now means what it says."""
    assert not _prune(4, 3, PruneGuard()).applicable
    assert _prune(4, 1, PruneGuard()).applicable  # 25 % of 4 is 1
    assert not _prune(4, 1, PruneGuard(max_delete_fraction=0.1)).applicable
    assert not _prune(3, 1, PruneGuard()).applicable  # 33 %: needs an explicit allowance
    assert _prune(3, 1, PruneGuard(min_deletes_allowed=1)).applicable


def test_an_allowed_prune_states_its_rule_and_numbers() -> None:
    plan = _prune(4, 1, PruneGuard())
    (decision,) = plan.guard_decisions
    assert (decision.existing, decision.deletes, decision.allowed_deletes) == (4, 1, 1)
    assert decision.allowed and not plan.violations
    assert decision.message == (
        "prune guard, store tiers: delete 1 of 4 (25%): allowed "
        "(limit 1 = max(floor(maxDeleteFraction 0.25 * 4 keys), minDeletesAllowed 0); 3 keys remain)"
    )


def test_guard_allows_an_override_and_says_so() -> None:
    plan = _prune(3, 3, PruneGuard(allow_mass_delete=True))
    assert plan.applicable
    (decision,) = plan.guard_decisions
    assert "allowed by --allow-mass-delete although more than the limit 0" in decision.message
    assert "it empties the store and allowEmpty is false" in decision.message


def test_guard_refuses_emptying() -> None:
    plan = _prune(1, 1, PruneGuard(min_deletes_allowed=1))
    (violation,) = plan.violations
    assert violation.message.endswith(
        "refused: it empties the store and allowEmpty is false. Raise maxDeleteFraction or "
        "minDeletesAllowed (or set allowEmpty: true) in the policy or this document's "
        "pruneGuard, or pass --allow-mass-delete for one run"
    )
    allowed = _prune(1, 1, PruneGuard(min_deletes_allowed=1, allow_empty=True))
    assert allowed.applicable
    assert "empties the store, allowEmpty is true" in allowed.guard_decisions[0].message
    # allowEmpty lifts only the emptiness rule: the share rule still holds.
    assert not _prune(4, 4, PruneGuard(allow_empty=True)).applicable


def test_prune_that_deletes_nothing_has_no_decision() -> None:
    assert _prune(4, 0, PruneGuard(), creates=2).guard_decisions == ()


FRACTIONS = ("0", "0.1", "0.25", "0.29", "0.5", "0.75", "1")


def _expected(existing: int, deletes: int, empties: bool, fraction: str, minimum: int, allow_empty: bool) -> bool:
    # An independent statement of the rule: deletes / existing <= fraction, in exact
    # rational arithmetic, or at most `minimum` deletes; emptying needs allow_empty.
    share_ok = Fraction(deletes, existing) <= Fraction(fraction) or deletes <= minimum
    return share_ok and (allow_empty or not empties)


@pytest.mark.parametrize("fraction", FRACTIONS)
def test_every_small_store_and_table_against_the_rule(fraction: str) -> None:
    """1-10 live keys x every number of deletes x creates (emptying or not) x allowance x
    allowEmpty x --allow-mass-delete, through plan_data for stores and tables."""
    checked = 0
    for existing in range(1, 11):
        for deletes in range(existing + 1):
            for creates in (0, 1):
                for minimum in (0, 1, 3):
                    for allow_empty in (False, True):
                        for mass in (False, True):
                            guard = PruneGuard(float(fraction), allow_empty, mass, minimum)
                            empties = deletes == existing and creates == 0
                            want = mass or _expected(existing, deletes, empties, fraction, minimum, allow_empty)
                            for plan in (
                                _prune(existing, deletes, guard, creates),
                                _prune_table(existing, deletes, guard, creates),
                            ):
                                assert plan.applicable is (want or deletes == 0), (existing, deletes, guard)
                                if deletes:
                                    (decision,) = plan.guard_decisions
                                    assert decision.allowed is want
                                    assert f"delete {deletes} of {existing}" in decision.message
                                    checked += 1
    assert checked == 2 * 55 * 2 * 3 * 2 * 2


def _prune_table(existing: int, deletes: int, guard: PruneGuard, creates: int = 0) -> Plan:
    rows = [{"tenantId": f"t{i}", "accountId": "1", "b": "x.example.com"} for i in range(existing)]
    rows += [{"tenantId": f"new{i}", "accountId": "1", "b": "x.example.com"} for i in range(creates)]
    live = table_items(*rows[:existing])
    desired = DesiredData(
        tables=(DesiredTable("t", SCHEMA, table_items(*rows[deletes:]), True, guard),)
    )
    return plan_data(desired, ObservedData(tables={"t": ObservedTable("t", True, SCHEMA, live, "d")}))


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
    assert "| `+` | `table_item.t['tenantId=a,accountId=1']` |" in render_markdown(plan)
    assert plan_from_dict(plan_to_dict(plan)) == plan
    assert '"desiredDigest": "digest1"' in render_json(plan)


def test_address_str_is_stable() -> None:
    assert str(Address(ResourceKind.KVS_ENTRY, "tiers", "gold")) == "kvs_entry.tiers['gold']"
