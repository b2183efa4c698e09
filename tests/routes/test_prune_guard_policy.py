"""The prune guard as route files write it: every field, its default, the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.routes.helpers import POLICY, errors, load, write_repo

REPO = Path(__file__).resolve().parents[2]
STORE = """apiVersion: edge.routing/v1
kind: KeyValueStore
metadata: {name: tiers}
spec:
  prune: true
  pruneGuard: GUARD
  entries: {a: a.example.com}
"""


def _repo(tmp_path: Path, guard: str) -> Path:
    return write_repo(
        tmp_path, {"routes/p.yaml": POLICY, "routes/s.yaml": STORE.replace("GUARD", guard)}
    )


def test_guard_fields_and_defaults(tmp_path: Path) -> None:
    route_set = load(
        _repo(tmp_path, "{maxDeleteFraction: 0.5, minDeletesAllowed: 2, allowEmpty: true}")
    )
    guard = route_set.prune_guard(route_set.stores["tiers"])
    assert (guard.max_delete_fraction, guard.min_deletes_allowed, guard.allow_empty) == (
        0.5,
        2,
        True,
    )
    plain = write_repo(
        tmp_path / "p",
        {"routes/p.yaml": POLICY, "routes/s.yaml": STORE.replace("  pruneGuard: GUARD\n", "")},
    )
    fallback = load(plain)
    guard = fallback.prune_guard(fallback.stores["tiers"])
    assert (guard.max_delete_fraction, guard.min_deletes_allowed, guard.allow_empty) == (
        0.25,
        0,
        False,
    )


@pytest.mark.parametrize(
    ("guard", "code"),
    [
        ("{minDeletesAllowed: -1}", "schema-greater-than-equal"),
        ('{minDeletesAllowed: "2"}', "schema-int-type"),
        ("{maxDeleteFraction: 1.5}", "schema-less-than-equal"),
        ("{maxDeletes: 3}", "schema-extra-forbidden"),
    ],
)
def test_guard_field_errors(tmp_path: Path, guard: str, code: str) -> None:
    (error,) = errors(_repo(tmp_path, guard))
    assert error.startswith("routes/s.yaml:6:spec.pruneGuard.") and error.endswith(code)


def test_the_json_schema_states_every_number_and_default() -> None:
    committed = json.loads((REPO / "routes" / "route-document.schema.json").read_text())
    fields = committed["$defs"]["PruneGuard"]["properties"]
    assert {name: spec["default"] for name, spec in fields.items()} == {
        "maxDeleteFraction": 0.25,
        "allowEmpty": False,
        "minDeletesAllowed": 0,
    }
    assert (fields["maxDeleteFraction"]["minimum"], fields["maxDeleteFraction"]["maximum"]) == (
        0,
        1,
    )
    assert fields["minDeletesAllowed"]["minimum"] == 0
    assert (
        "max(floor(maxDeleteFraction x N), minDeletesAllowed)"
        in committed["$defs"]["PruneGuard"]["description"]
    )


def test_the_allowance_reaches_the_core_guard(tmp_path: Path) -> None:
    from reconciler.engine.desired import desired_data

    route_set = load(_repo(tmp_path, "{minDeletesAllowed: 2}"))
    (store,) = desired_data(route_set).stores
    assert store.guard is not None and store.guard.min_deletes_allowed == 2
