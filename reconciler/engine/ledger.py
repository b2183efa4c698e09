"""What the reconciler itself wrote and converged: how drift is told from new input and
from the reconciler's own unfinished attempts.

- `converged`: per container (store, table, function, distribution), the digest of the
  declaration as of the last pass that left live state equal to it. A change in a
  container whose declaration still has that digest is drift: someone else moved live
  state away from what the reconciler had made it.
- `candidates`: per function, the code the reconciler wrote to a stage that was never
  converged (a candidate the test gate rejected after writing DEVELOPMENT, or an apply
  cut short). Finding that code live is the reconciler's own attempt, never drift.

Kept in the daemon's state directory, so drift made while the daemon was down is drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from reconciler.core.model import Action, Change, Phase, ResourceKind
from reconciler.engine.desired import container_key

log = structlog.get_logger("reconciler.ledger")

FORMAT = 1


@dataclass
class Ledger:
    converged: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, str] = field(default_factory=dict)

    def is_drift(self, change: Change, digests: Mapping[str, str]) -> bool:
        if change.phase is Phase.CLEANUP:  # old versions: housekeeping, not drift
            return False
        key = container_key(change.address.kind, change.address.container)
        last = self.converged.get(key)
        if last is None or digests.get(key) != last:
            return False  # new input (or never converged): not drift
        return not self._own_candidate(key, change)

    def _own_candidate(self, key: str, change: Change) -> bool:
        written = self.candidates.get(key)
        if written is None or change.action is not Action.UPDATE:
            return False
        before = change.before if isinstance(change.before, Mapping) else {}
        return bool(before.get("code")) and str(before.get("code")) == written

    def wrote_candidate(self, kind: ResourceKind, name: str, code: str) -> None:
        self.candidates[container_key(kind, name)] = code

    def converge(self, digests: Mapping[str, str], keys: Iterable[str] | None = None) -> None:
        """The declaration of `keys` (all by default) is now live."""
        for key in digests if keys is None else keys:
            self.converged[key] = digests[key]
            self.candidates.pop(key, None)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "converged": self.converged, "candidates": self.candidates}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Ledger:
        if raw.get("format") != FORMAT:
            return cls()
        return cls(dict(raw.get("converged") or {}), dict(raw.get("candidates") or {}))


class LedgerStore(Protocol):
    def load(self) -> Ledger: ...
    def save(self, ledger: Ledger) -> None: ...


class MemoryLedger:
    """For one-shot commands (plan, apply): nothing persists between runs."""

    def __init__(self) -> None:
        self._ledger = Ledger()

    def load(self) -> Ledger:
        return self._ledger

    def save(self, ledger: Ledger) -> None:
        self._ledger = ledger


class FileLedger:
    """A JSON file, replaced atomically: a crash leaves the old ledger or the new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: Ledger | None = None

    def load(self) -> Ledger:
        if self._cached is None:
            try:
                self._cached = Ledger.from_json(json.loads(self.path.read_text()))
            except (OSError, ValueError):
                self._cached = Ledger()
        return self._cached

    def save(self, ledger: Ledger) -> None:
        self._cached = ledger
        try:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(ledger.to_json(), sort_keys=True) + "\n")
            tmp.replace(self.path)
        except OSError as exc:  # a read-only state dir costs only drift detection across restarts
            log.warning("ledger.not_saved", path=str(self.path), error=str(exc))
