"""What the phases of one apply share: the plan they carry out, the adapters, and what
earlier phases produced that later ones need (a store's ARN, a published version)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from reconciler.core.attribute_values import plain_item
from reconciler.core.model import Change, ResourceKind
from reconciler.engine.gate import GateSettings
from reconciler.engine.ledger import Ledger
from reconciler.engine.observe import Adapters
from reconciler.engine.planner import Planned
from reconciler.engine.report import ChangeSet

log = structlog.get_logger("reconciler.apply")

# (steps done, steps in all) of the data phases: the CLI prints progress, the daemon logs it.
StepProgress = Callable[[int, int], None]


@dataclass
class ApplyContext:
    planned: Planned
    adapters: Adapters
    changes: ChangeSet
    ledger: Ledger
    gate: GateSettings = field(default_factory=GateSettings)
    on_step: StepProgress | None = None
    store_arns: dict[str, str] = field(default_factory=dict)  # observed + created now
    kvs_etags: dict[str, str] = field(default_factory=dict)  # as they move with each write
    lambda_versions: dict[str, str] = field(default_factory=dict)  # published by this pass
    published_cloudfront: dict[str, str] = field(default_factory=dict)  # name -> ARN

    def __post_init__(self) -> None:
        seen = self.planned.observation
        self.store_arns.update(seen.store_arns)
        for name, store in seen.data.stores.items():
            if store.etag:
                self.kvs_etags[name] = store.etag

    def applied(self, change: Change, *operations: str) -> None:
        """One change landed: record it and log it with its values before and after
        (route values are not secrets: origins, tenants, code hashes; long ones cut)."""
        self.changes.record(change, *operations)
        log.info(
            "change.applied",
            address=str(change.address),
            action=change.action.value,
            kind=change.address.kind.value,
            before=_logged(change, change.before),
            after=_logged(change, change.after),
            calls=list(operations),
        )


LOGGED_VALUE_CHARS = 1000


def _logged(change: Change, value: Any) -> Any:
    if change.address.kind is ResourceKind.TABLE_ITEM and isinstance(value, dict):
        value = plain_item(value)
    text = json.dumps(value, sort_keys=True, default=str)
    return value if len(text) <= LOGGED_VALUE_CHARS else text[:LOGGED_VALUE_CHARS] + "..."
