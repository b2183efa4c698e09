"""Prometheus metrics of the daemon, in a registry of their own (no process-global state,
so tests and several daemons in one process never share counters).

Besides the pass metrics: Flux's condition gauge (`reconciler_condition{type,status}`,
like `gotk_reconcile_condition`), AWS API calls by service and operation (daemon/
aws_calls.py), the distributions' deployment status, notifications, webhooks and HTTP
requests, and the standard `process_*` / `python_info` collectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from reconciler.daemon.revision import Revision
from reconciler.engine.report import PassReport

CONTENT_TYPE = CONTENT_TYPE_LATEST
CONDITION_STATUSES = ("True", "False", "Unknown")
DISTRIBUTION_STATUSES = ("Deployed", "InProgress")


class _StateCollector(Collector):
    """A gauge with one series per possible state, 1 for the current one (Flux's
    gotk_reconcile_condition shape): `read()` is asked at every scrape."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, str],
        states: tuple[str, ...],
        read: Callable[[], Iterable[tuple[str, str]]],
    ) -> None:
        self._name, self._doc, self._labels, self._states = name, documentation, labels, states
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=list(self._labels))
        for subject, current in self.read():
            states = self._states if current in self._states else (*self._states, current)
            for state in states:
                family.add_metric([subject, state], 1.0 if state == current else 0.0)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._doc, labels=list(self._labels))


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
            "Git revision of the route files last attempted / last applied (value is always 1); "
            "<sha>-dirty when the files read differed from the commit.",
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
        self.aws_calls = Counter(
            "reconciler_aws_api_calls",
            "AWS API calls made by passes, by service and operation (botocore's retries of "
            "one call count once).",
            ["service", "operation"],
            registry=r,
        )
        self.aws_throttles = Counter(
            "reconciler_aws_api_throttles",
            "Attempts AWS answered with a throttling error, by service and operation.",
            ["service", "operation"],
            registry=r,
        )
        self.aws_errors = Counter(
            "reconciler_aws_api_errors",
            "AWS API calls that failed after botocore's retries, by service, operation and "
            "error code.",
            ["service", "operation", "code"],
            registry=r,
        )
        self.notifications = Counter(
            "reconciler_notifications",
            "Notifications by provider, event and result (sent, failed after retries, "
            "dropped because the provider's queue was full, skipped).",
            ["provider", "event", "result"],
            registry=r,
        )
        self.webhooks = Counter(
            "reconciler_webhook_requests",
            "Webhook deliveries by kind and result (accepted, ignored, pong, rejected, "
            "disabled).",
            ["kind", "result"],
            registry=r,
        )
        self.http_requests = Counter(
            "reconciler_http_requests",
            "HTTP requests served, by endpoint and status code.",
            ["endpoint", "code"],
            registry=r,
        )
        self.conditions = _StateCollector(
            "reconciler_condition",
            "The daemon's conditions (Ready, Reconciling, Stalled, Leader): 1 for the current "
            "status of each type, 0 for the others (Flux's gotk_reconcile_condition).",
            ("type", "status"),
            CONDITION_STATUSES,
            lambda: (),
        )
        r.register(self.conditions)
        self.distributions = _StateCollector(
            "reconciler_distribution_status",
            "Deployment status of each distribution the passes read or wrote, as CloudFront "
            "last reported it (InProgress until every edge location has the change).",
            ("distribution", "status"),
            DISTRIBUTION_STATUSES,
            lambda: (),
        )
        r.register(self.distributions)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
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
            self._revisions[state] = revision.id
            self.revision.labels(state=state, revision=revision.id).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
