"""What /status, /readyz and the logs say about the daemon: Kubernetes-style conditions,
revisions, the last pass, the last error, the last plan.

The worker is the only writer; HTTP threads read snapshots under the same lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.daemon.revision import Revision
from reconciler.engine.report import Outcome


def utc_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown", as in Kubernetes
    reason: str
    message: str
    last_transition: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": utc_iso(self.last_transition),
        }


@dataclass
class StatusBoard:
    dry_run: bool
    self_heal: bool
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _conditions: dict[str, Condition] = field(default_factory=dict)
    suspended: bool = False
    running_since: float | None = None  # monotonic
    running_trigger: str | None = None
    running_pass: int | None = None
    running_started_at: float | None = None  # wall clock
    running_request: int | None = None
    passes: int = 0
    last_pass: dict[str, Any] | None = None
    last_outcome: Outcome | None = None
    last_error: dict[str, Any] | None = None
    last_plan: dict[str, Any] | None = None
    last_success_at: float | None = None
    attempted: Revision | None = None
    applied: Revision | None = None
    drift: dict[str, Any] = field(default_factory=lambda: {"detected": False, "passes": 0})
    retry: dict[str, Any] | None = None
    last_rejection: dict[str, Any] | None = None
    next_resync_at: float | None = None  # wall clock
    # The latest reconcile request a finished pass took up, and that pass (`reconcile
    # --wait` polls this); `pending_request` is the newest one not taken up yet.
    requests: dict[str, Any] | None = None
    pending_request: int | None = None

    def __post_init__(self) -> None:
        now = _now()
        for kind in ("Ready", "Reconciling", "Stalled"):
            self._conditions[kind] = Condition(kind, "Unknown", "Starting", "no pass yet", now)

    # --- writes (worker thread) -------------------------------------------------------

    def set_condition(self, kind: str, status: str, reason: str, message: str) -> None:
        with self._lock:
            old = self._conditions.get(kind)
            # lastTransitionTime moves only when the status flips, as in Kubernetes.
            since = old.last_transition if old is not None and old.status == status else _now()
            self._conditions[kind] = Condition(kind, status, reason, message, since)

    def update(self, **fields: Any) -> None:
        with self._lock:
            for key, value in fields.items():
                if not hasattr(self, key) or key.startswith("_"):
                    raise AttributeError(key)
                setattr(self, key, value)

    # --- reads (any thread) -----------------------------------------------------------

    def condition_states(self) -> list[tuple[str, str]]:
        """(type, status) of every condition, for the reconciler_condition gauge."""
        with self._lock:
            return [(c.type, c.status) for c in self._conditions.values()]

    def condition(self, kind: str) -> Condition:
        with self._lock:
            return self._conditions[kind]

    def ready(self) -> tuple[bool, str]:
        """/readyz: the first pass has finished and the route files it read were valid.

        INVALID means the revision checked out is broken, and a rollout of a broken
        configuration should stop there. AWS failures do not flip readiness: they are
        retried with back-off, and a probe that flaps on throttling helps nobody (the
        Ready / Stalled conditions and the metrics tell instead).
        """
        with self._lock:
            if self.last_outcome is None:
                return False, "no pass has finished yet"
            if self.last_outcome is Outcome.INVALID:
                return False, "the route files are invalid (see /status)"
            return True, f"last pass: {self.last_outcome.value}"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "mode": {"dryRun": self.dry_run, "selfHeal": self.self_heal},
                "suspended": self.suspended,
                "conditions": [c.as_dict() for c in self._conditions.values()],
                "lastAttemptedRevision": self.attempted.as_dict() if self.attempted else None,
                "lastAppliedRevision": self.applied.as_dict() if self.applied else None,
                "passes": self.passes,
                "running": None
                if self.running_since is None
                else {
                    "trigger": self.running_trigger,
                    "pass": self.running_pass,
                    "startedTime": utc_iso(self.running_started_at),
                    "request": self.running_request,
                },
                "lastPass": self.last_pass,
                "lastSuccessTime": utc_iso(self.last_success_at),
                "lastError": self.last_error,
                "lastPlan": self.last_plan,
                "drift": dict(self.drift),
                "retry": self.retry,
                "lastRejection": self.last_rejection,
                "nextResyncTime": utc_iso(self.next_resync_at),
                "requests": {**(self.requests or {"lastHandled": None}), "pending": self.pending_request},
            }


def _now() -> float:
    return time.time()
