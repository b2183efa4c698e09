"""Plans a reviewer can read (issue 19, item 4): per-field before -> after, names instead
of ids, a legend for every symbol, Markdown that survives any key, the guard's numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciler.core.attribute_values import item_from_python
from reconciler.core.model import Action, Address, Change, Phase, Plan, PlanError, ResourceKind
from reconciler.core.plan_json import plan_from_dict, plan_to_dict
from reconciler.core.prune_guard import decide, violation
from reconciler.core.render import NO_CHANGES, md_code, render_json, render_markdown, render_text
from reconciler.core.state import PruneGuard

ARN = "arn:aws:lambda:us-east-1:123456789012:function:tenant-router:"
CONFIG = {
    "runtime": "nodejs20.x",
    "handler": "index.handler",
    "role": "arn:aws:iam::1:role/r",
    "memory": 128,
    "timeout": 5,
}


def _lambda_update() -> Change:
    return Change(
        Address(ResourceKind.LAMBDA_FUNCTION, "tenant-router"),
        Action.UPDATE,
        Phase.FUNCTIONS,
        before={"code": "Ab12Cd34Ef", **CONFIG},
        after={"code": "Zz98Yy76Xx", **CONFIG, "memory": 256},
        reason="code and memory differ",
    )


def _wiring(labels: tuple[tuple[str, str], ...] = ()) -> Change:
    return Change(
        Address(ResourceKind.DISTRIBUTION_BEHAVIOR, "shop", "/tenant/*"),
        Action.UPDATE,
        Phase.WIRING,
        before={
            "cachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            "originRequestPolicyId": "0d1a7c1e-0000-4000-8000-00000000cafe",
            "lambdaAssociations": {"origin-request": {"arn": ARN + "3", "includeBody": True}},
        },
        after={
            "cachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
            "originRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
            "lambdaAssociations": {"origin-request": {"arn": ARN + "4", "includeBody": True}},
        },
        reason="policies and lambdaAssociations differ",
        labels=labels,
    )


def test_an_update_shows_only_the_fields_that_differ_one_per_line() -> None:
    text = render_text(Plan((_lambda_update(),)))
    assert "  ~ lambda_function.tenant-router  # code and memory differ\n" in text
    assert '      ~ code: "Ab12Cd34Ef" -> "Zz98Yy76Xx"\n' in text
    assert "      ~ memory: 128 -> 256\n" in text
    assert "handler" not in text and "role" not in text  # unchanged fields are left out
    assert max(len(line) for line in text.splitlines()) < 140


def test_policies_and_functions_by_name_custom_ones_from_the_change_labels() -> None:
    plain = render_text(Plan((_wiring(),)))
    assert '~ cachePolicy: "CachingOptimized" -> "CachingDisabled"' in plain
    assert (
        '~ lambdaAssociations.origin-request.arn: "tenant-router:3" -> "tenant-router:4"' in plain
    )
    # A custom policy's id stays an id unless the change carries its name.
    assert '"0d1a7c1e-0000-4000-8000-00000000cafe" -> "AllViewerExceptHostHeader"' in plain
    named = render_text(
        Plan((_wiring((("0d1a7c1e-0000-4000-8000-00000000cafe", "team-origin"),)),))
    )
    assert '~ originRequestPolicy: "team-origin" -> "AllViewerExceptHostHeader"' in named
    assert "658327ea" not in named and "4135ea2d" not in named
    # JSON keeps the ids (tools), and the labels round-trip.
    plan = Plan((_wiring((("0d1a7c1e-0000-4000-8000-00000000cafe", "team-origin"),)),))
    assert "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" in render_json(plan)
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_every_symbol_used_has_a_legend_entry() -> None:
    changes = (
        Change(
            Address(ResourceKind.KVS_ENTRY, "s", "a"),
            Action.CREATE,
            Phase.DATA,
            after="a.example.com",
        ),
        _lambda_update(),
        Change(
            Address(ResourceKind.CLOUDFRONT_FUNCTION, "f"),
            Action.PUBLISH,
            Phase.FUNCTIONS,
            after={"code": "x"},
        ),
        Change(
            Address(ResourceKind.KVS_ENTRY, "s", "b"),
            Action.DELETE,
            Phase.PRUNE,
            before="b.example.com",
        ),
    )
    text = render_text(Plan(changes))
    legend = text.splitlines()[0]
    for symbol, meaning in (("+", "create"), ("~", "update"), ("-", "delete"), ("^", "publish")):
        assert f"{symbol} {meaning}" in legend
    assert "Field lines: + added, ~ changed." in legend
    markdown = render_markdown(Plan(changes))
    assert "`^` publish" in markdown and "`~` changed" in markdown


@pytest.mark.parametrize(
    "key",
    ["gold|vip", "a`b", "``", "<!-- hidden", "x\ny", "*bold* _it_ [link](http://x)", "|", "\\|"],
)
def test_markdown_survives_any_key_as_one_table_row(key: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    change = Change(
        Address(ResourceKind.KVS_ENTRY, "tiers", key),
        Action.CREATE,
        Phase.DATA,
        after=f"v{key}",
        reason=f"why {key}",
    )
    rendered = render_markdown(Plan((change,)))
    tokens = markdown_it.MarkdownIt("commonmark").enable("table").parse(rendered)
    rows = [t for t in tokens if t.type == "tr_open"]
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(rows) == 2 and len(cells) == 6, rendered  # header + one row, six cells
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(rendered)
    assert "<!--" not in html and "<a " not in html and "<em>" not in html


def test_md_code_fences_backticks() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("a|b") == "`a\\|b`"


def test_guard_decisions_in_text_json_and_markdown() -> None:
    allowed = decide(ResourceKind.TABLE, "tenants", 4, 1, 3, PruneGuard())
    refused = decide(ResourceKind.KEY_VALUE_STORE, "tiers", 4, 3, 1, PruneGuard())
    violation_ = violation(refused)
    assert violation_ is not None
    deletes = tuple(
        Change(
            Address(ResourceKind.KVS_ENTRY, "tiers", k),
            Action.DELETE,
            Phase.PRUNE,
            before="x.example.com",
        )
        for k in "abc"
    )
    plan = Plan(deletes, violations=(violation_,), guard_decisions=(allowed, refused))
    text = render_text(plan)
    assert (
        "prune guard, table tenants: delete 1 of 4 (25%): allowed "
        "(limit 1 = max(floor(maxDeleteFraction 0.25 * 4 items), minDeletesAllowed 0); 3 items remain)"
    ) in text
    assert (
        "prune guard, store tiers: delete 3 of 4 (75%): refused: more than the limit 1" in text
    )
    assert text.rstrip().endswith("Nothing is applied while the plan has 1 refused prune(s).")
    data = plan_to_dict(plan)
    assert [d["allowed"] for d in data["guardDecisions"]] == [True, False]
    assert data["guardDecisions"][1]["allowedDeletes"] == 1
    assert data["guardDecisions"][1]["maxDeleteFraction"] == 0.25
    assert plan_from_dict(data) == plan
    markdown = render_markdown(plan)
    assert "**Prune guard**" in markdown
    assert "refused: more than the limit 1 = max(floor(maxDeleteFraction 0.25 \\* 4 keys)" in markdown


def test_a_plan_with_errors_never_says_no_changes() -> None:
    error = PlanError(
        Address(ResourceKind.DISTRIBUTION_BEHAVIOR, "shop"),
        "no distribution matches selector comment 'x'",
    )
    plan = Plan((), errors=(error,))
    for rendered in (render_text(plan), render_markdown(plan)):
        assert "No changes" not in rendered
        assert "Nothing can be applied: 1 error(s)." in rendered
    assert render_text(Plan(())) == NO_CHANGES + "\n"


def test_table_items_show_plain_values_and_null_attributes() -> None:
    before = item_from_python(
        {"tenantId": "a", "accountId": "1", "w": Decimal("1.50"), "gone": "x"}
    )
    after = item_from_python({"tenantId": "a", "accountId": "1", "w": Decimal("2.5"), "n": None})
    change = Change(
        Address(ResourceKind.TABLE_ITEM, "t", "tenantId=a,accountId=1"),
        Action.UPDATE,
        Phase.DATA,
        before,
        after,
    )
    text = render_text(Plan((change,)))
    assert "      ~ w: 1.5 -> 2.5\n" in text
    assert '      - gone: "x"\n' in text
    assert "      + n: null\n" in text  # a NULL attribute is a value in DynamoDB
    fields = plan_to_dict(Plan((change,)))["changes"][0]["fields"]
    assert {f["path"]: f["change"] for f in fields} == {
        "gone": "removed",
        "n": "added",
        "w": "changed",
    }
