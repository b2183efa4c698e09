"""AWS API calls as the daemon sees them: counted at the botocore client level.

The engine's `Adapters.clients()` hands over every boto3 client it uses; this module
registers on their event hooks (no wrapping, no extra call):

  before-call       one per API call (botocore's retries of it are inside)
  needs-retry       after every attempt: a throttling error code counts as a throttle
  after-call        the final answer: an error status counts as a failed call; a
                    CloudFront GetDistribution / UpdateDistribution / ListDistributions
                    answer carries each distribution's Status: kept for /status and the
                    `reconciler_distribution_status` gauge (no extra read)
  after-call-error  the call raised (a connection error after botocore's retries)

It also remembers the last call and a running count, which the pass heartbeat reports
while a pass is silent (a Lambda waiter, a long scan).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.aws.errors import THROTTLING_CODES, error_code
from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.status import utc_iso

_STATUS_OPERATIONS = {"GetDistribution", "UpdateDistribution", "CreateDistribution"}


@dataclass(frozen=True)
class LastCall:
    service: str
    operation: str
    monotonic: float

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


class AwsCalls:
    def __init__(self, metrics: DaemonMetrics) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._count = 0
        self._last: LastCall | None = None
        # distribution id -> (status, wall time it was read)
        self._distributions: dict[str, tuple[str, float]] = {}
        metrics.distributions.read = self._distribution_states

    def instrument(self, clients: Iterable[Any]) -> int:
        """Hook every client once; returns how many were hooked."""
        hooked = 0
        for client in clients:
            events = client.meta.events
            events.register("before-call", self._before_call, unique_id=f"reconciler-calls-{id(self)}")
            events.register("needs-retry", self._needs_retry, unique_id=f"reconciler-retry-{id(self)}")
            events.register(
                "after-call-error", self._after_error, unique_id=f"reconciler-error-{id(self)}"
            )
            events.register("after-call", self._after_call, unique_id=f"reconciler-after-{id(self)}")
            hooked += 1
        return hooked

    # --- reads (any thread) -----------------------------------------------------------

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    @property
    def last(self) -> LastCall | None:
        with self._lock:
            return self._last

    def distributions(self) -> dict[str, dict[str, str | None]]:
        with self._lock:
            return {
                dist_id: {"status": status, "observedTime": utc_iso(at)}
                for dist_id, (status, at) in sorted(self._distributions.items())
            }

    def _distribution_states(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(d, status) for d, (status, _) in sorted(self._distributions.items())]

    # --- botocore handlers (the calling thread) ---------------------------------------

    def _before_call(self, model: Any, **_: Any) -> None:
        service, operation = _names(model)
        self._metrics.aws_calls.labels(service=service, operation=operation).inc()
        with self._lock:
            self._count += 1
            self._last = LastCall(service, operation, time.monotonic())

    def _needs_retry(
        self, operation: Any, response: Any = None, caught_exception: Any = None, **_: Any
    ) -> None:
        if response is None:
            return
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLING_CODES:
            service, name = _names(operation)
            self._metrics.aws_throttles.labels(service=service, operation=name).inc()

    def _after_error(self, exception: BaseException, context: Any = None, **kwargs: Any) -> None:
        # botocore passes no model here; the event name carries the operation.
        event = str(kwargs.get("event_name", ""))
        _, service, operation = [*event.split(".", 2), "", ""][:3]
        self._metrics.aws_errors.labels(
            service=service or "unknown",
            operation=operation or "unknown",
            code=error_code(exception) or type(exception).__name__,
        ).inc()

    def _after_call(
        self, model: Any, http_response: Any = None, parsed: Any = None, **_: Any
    ) -> None:
        service, operation = _names(model)
        if not isinstance(parsed, dict):
            return
        if getattr(http_response, "status_code", 200) >= 300:
            code = (parsed.get("Error") or {}).get("Code") or str(http_response.status_code)
            self._metrics.aws_errors.labels(service=service, operation=operation, code=code).inc()
            return
        if service != "cloudfront":
            return
        now = time.time()
        if operation in _STATUS_OPERATIONS:
            dist = parsed.get("Distribution") or {}
            if dist.get("Id") and dist.get("Status"):
                with self._lock:
                    self._distributions[str(dist["Id"])] = (str(dist["Status"]), now)
        elif operation == "ListDistributions":
            items = (parsed.get("DistributionList") or {}).get("Items") or []
            with self._lock:  # only distributions a pass already read: not the whole account
                for item in items:
                    dist_id = str(item.get("Id", ""))
                    if dist_id in self._distributions and item.get("Status"):
                        self._distributions[dist_id] = (str(item["Status"]), now)


def _names(model: Any) -> tuple[str, str]:
    return str(model.service_model.service_name), str(model.name)
