"""Prometheus metrics of the daemon, in a registry of its own (no process-global state,
so tests and several daemons in one process never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from reconciler.daemon.revision import Revision
from reconciler.engine.report import PassReport

CONTENT_TYPE = CONTENT_TYPE_LATEST


class DaemonMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.passes = Counter(
            "reconciler_passes",
            "Reconcile passes finished, by outcome and by what triggered them.",
            ["outcome", "trigger"],
            registry=r,
        )
        self.pass_duration = Histogram(
            "reconciler_pass_duration_seconds",
            "Wall time of one reconcile pass (observe, plan and apply).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
            registry=r,
        )
        self.changes_applied = Counter(
            "reconciler_changes_applied",
            "Changes written to AWS, by resource kind and action.",
            ["kind", "action"],
            registry=r,
        )
        self.drift_detected = Counter(
            "reconciler_drift_detected",
            "Passes that found live values the reconciler did not write, in containers whose "
            "declaration did not change since the last convergence.",
            registry=r,
        )
        self.gate_rejections = Counter(
            "reconciler_gate_rejections",
            "Candidate function code the test gate refused to publish, by function.",
            ["function"],
            registry=r,
        )
        self.stalled = Gauge(
            "reconciler_stalled",
            "1 while the daemon waits for the input to change (a fatal error, invalid route "
            "files or a refused plan); no retries run meanwhile.",
            registry=r,
        )
        self.file_events = Counter(
            "reconciler_file_events",
            "File system events that counted as a change (before debouncing).",
            registry=r,
        )
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "Unix time of the end of the last pass that converged (or planned, in dry-run).",
            registry=r,
        )
        self.revision = Gauge(
            "reconciler_revision_info",
            "Git revision of the route files last attempted / last applied (value is always 1).",
            ["state", "revision"],
            registry=r,
        )
        self.suspended = Gauge(
            "reconciler_suspended", "1 while reconciliation is suspended.", registry=r
        )
        self.drifted = Gauge(
            "reconciler_drifted",
            "1 while the last pass found drift it did not correct (self-heal off or dry-run).",
            registry=r,
        )
        self.consecutive_failures = Gauge(
            "reconciler_consecutive_failures",
            "Failed passes since the last success; retries back off exponentially.",
            registry=r,
        )
        self.pass_running = Gauge(
            "reconciler_pass_in_progress", "1 while a pass is running.", registry=r
        )
        self.leader = Gauge(
            "reconciler_leader",
            "1 while this replica holds the lease and may write (always 1 without election).",
            registry=r,
        )
        self.leader_transitions = Counter(
            "reconciler_leader_transitions",
            "Times this replica became leader or stopped being leader.",
            registry=r,
        )
        self._revisions: dict[str, str] = {}

    def observe_pass(self, report: PassReport, trigger: str) -> None:
        self.passes.labels(outcome=report.outcome.value, trigger=trigger).inc()
        self.pass_duration.observe(report.duration_seconds)
        for change in report.applied:
            self.changes_applied.labels(
                kind=change.address.kind.value, action=change.action.value
            ).inc()

    def set_revision(self, state: str, revision: Revision | None) -> None:
        # One series per state: the old revision's series goes away with the new one.
        old = self._revisions.pop(state, None)
        if old is not None:
            self.revision.remove(state, old)
        if revision is not None:
            self._revisions[state] = revision.sha
            self.revision.labels(state=state, revision=revision.sha).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
