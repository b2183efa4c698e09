"""Race actions: another writer changes the resource between a client's read and write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.sandbox.hooks.middleware import RaceAction, WireCall


def kvs_race(puts: Mapping[str, str] | None = None, deletes: Iterable[str] = ()) -> RaceAction:
    """A race action: another writer changes the KVS named in the intercepted request."""
    from reconciler.sandbox.kvs import responses, store

    wanted_puts = dict(puts or {"_sandbox_race": uuid.uuid4().hex})
    wanted_deletes = frozenset(deletes)

    def action(call: WireCall) -> None:
        arn = responses.arn_from_path(call.path)
        store.write_out_of_band(arn, wanted_puts, wanted_deletes)

    return action


def race_action_from_json(race: Mapping[str, Any]) -> RaceAction:
    if set(race) - {"kvs_puts", "kvs_deletes"}:
        raise ValueError(f"unknown race fields {sorted(set(race))}; known: kvs_puts, kvs_deletes")
    return kvs_race(race.get("kvs_puts"), race.get("kvs_deletes") or ())
