"""Typed addresses, actions, changes and the plan: the values the rest of the reconciler passes around.

Everything here is immutable and free of I/O; a Plan is a value that can be rendered,
saved, compared and applied, and rendering never decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any


class ResourceKind(StrEnum):
    KEY_VALUE_STORE = "key_value_store"
    KVS_ENTRY = "kvs_entry"
    TABLE = "table"
    TABLE_ITEM = "table_item"
    CLOUDFRONT_FUNCTION = "cloudfront_function"
    LAMBDA_FUNCTION = "lambda_function"
    DISTRIBUTION_BEHAVIOR = "distribution_behavior"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    PUBLISH = "publish"


class Phase(IntEnum):
    """Apply order. Deletions come last so that nothing routes to a key that is gone
    before the functions and wiring that might still read it have changed."""

    ENSURE = 10  # stores and tables exist
    DATA = 20  # entries and items created or updated
    FUNCTIONS = 30  # edge code updated, tested, published
    WIRING = 40  # distribution associations and policies
    PRUNE = 50  # undeclared entries and items deleted
    CLEANUP = 60  # old function versions removed


@dataclass(frozen=True, order=True)
class Address:
    """What a change is about: a container (store, table, function, distribution) and,
    for entries, items and behaviours, the key inside it."""

    kind: ResourceKind
    container: str
    key: str | None = None

    def __str__(self) -> str:
        if self.key is None:
            return f"{self.kind.value}.{self.container}"
        return f"{self.kind.value}.{self.container}[{self.key!r}]"


@dataclass(frozen=True)
class Change:
    address: Address
    action: Action
    phase: Phase
    before: Any = None
    after: Any = None
    reason: str = ""
    # Display names for ids in before/after, as (id, name) pairs: a custom cache policy's
    # name, say. Rendering only; managed policies are named without it.
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GuardViolation:
    """A prune the guard refuses; apply stops before any write while one is present."""

    container: str
    deletes: int
    existing: int
    message: str


@dataclass(frozen=True)
class GuardDecision:
    """The prune guard's verdict on the deletes planned for one store or table, with every
    number of its rule, so that a plan says what it allows as well as what it refuses.

    `allowed_deletes` is max(floor(max_delete_fraction x existing), min_deletes_allowed);
    `remaining` is what the container holds after the plan (0: the prune empties it).
    """

    kind: ResourceKind  # KEY_VALUE_STORE or TABLE
    container: str
    existing: int
    deletes: int
    remaining: int
    max_delete_fraction: float
    min_deletes_allowed: int
    allowed_deletes: int
    allow_empty: bool
    allow_mass_delete: bool
    allowed: bool
    message: str


@dataclass(frozen=True)
class PlanError:
    """A difference the reconciler will not resolve by itself (e.g. a table whose key
    schema differs from the declaration): nothing is applied while one is present."""

    address: Address
    message: str


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    # The versions (ETags, or a digest where AWS has none) of what was observed, per
    # container; apply refuses a saved plan whose observations are stale.
    observed_versions: tuple[tuple[str, str], ...] = ()
    violations: tuple[GuardViolation, ...] = ()
    errors: tuple[PlanError, ...] = ()
    desired_digest: str = ""
    # One per store or table whose prune deletes something, allowed or refused; the
    # refused ones are in `violations` too.
    guard_decisions: tuple[GuardDecision, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def applicable(self) -> bool:
        return not self.violations and not self.errors

    def counts(self) -> dict[Action, int]:
        out: dict[Action, int] = {}
        for change in self.changes:
            out[change.action] = out.get(change.action, 0) + 1
        return out
