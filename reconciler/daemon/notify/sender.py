"""Sending notifications without ever holding up a pass.

The worker hands every finished pass to `Notifier.on_pass`, which only derives the events
and puts them on one bounded queue per provider (never blocks: a full queue drops the
event, counts it and logs a line). One sender thread per provider sends with retries
(tenacity: exponential back-off with jitter, Retry-After honoured), so a dead or slow
receiver delays nobody else and costs the daemon a log line and a metric.

Never logged: URLs (a Slack webhook URL is a secret), tokens, signatures, bodies.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
)

from reconciler.daemon.metrics import DaemonMetrics
from reconciler.daemon.notify.config import Delivery, NotificationConfig, Provider
from reconciler.daemon.notify.events import Event, EventDeriver
from reconciler.daemon.notify.providers import Outgoing, render
from reconciler.daemon.reporting import PassResult

log = structlog.get_logger("reconciler.daemon.notify")


class SendError(Exception):
    """A failed delivery, described without the URL or the body."""

    def __init__(self, description: str, transient: bool, retry_after: float | None = None):
        super().__init__(description)
        self.transient = transient
        self.retry_after = retry_after


def post(request: Outgoing, timeout: float) -> int:
    """POST; the status code, or SendError (transient: connection problems, 408, 429, 5xx)."""
    req = urllib.request.Request(request.url, data=request.body, method="POST", headers=request.headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            response.read(64 * 1024)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        code = exc.code
        transient = code in (408, 429) or code >= 500
        retry_after = _seconds(exc.headers.get("Retry-After")) if exc.headers else None
        raise SendError(f"HTTP {code}", transient, retry_after) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = getattr(reason, "strerror", None) or type(reason).__name__
        raise SendError(f"connection failed: {text}", True) from None
    except TimeoutError:
        raise SendError(f"timed out after {timeout:g}s", True) from None
    except OSError as exc:
        raise SendError(f"{type(exc).__name__}: {exc.strerror or ''}".strip(), True) from None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the exponential back-off will do


class _ProviderQueue:
    def __init__(self, provider: Provider, notifier: Notifier) -> None:
        self.provider = provider
        self._notifier = notifier
        self.queue: queue.Queue[Event] = queue.Queue(maxsize=notifier.delivery.queue_size)
        self.thread = threading.Thread(
            target=self._loop, name=f"notify-{provider.name}", daemon=True
        )

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self._notifier.count(self.provider, event, "dropped")
            log.warning(
                "notification.dropped",
                provider=self.provider.name,
                notification=event.type.value,
                why=f"queue full ({self.queue.maxsize}): the receiver is not keeping up",
            )

    def _loop(self) -> None:
        notifier = self._notifier
        while True:
            try:
                event = self.queue.get(timeout=0.2)
            except queue.Empty:
                if notifier.stopping.is_set():
                    return
                continue
            if notifier.abort.is_set():
                return
            try:
                self._send(event)
            except Exception:  # the sender must outlive any surprise
                notifier.count(self.provider, event, "failed")
                log.exception("notification.crashed", provider=self.provider.name)

    def _send(self, event: Event) -> None:
        notifier, provider = self._notifier, self.provider
        request = render(provider, event, notifier.config.source)
        if isinstance(request, str):
            notifier.count(provider, event, "skipped")
            log.info("notification.skipped", provider=provider.name, notification=event.type.value, why=request)
            return
        delivery = notifier.delivery
        attempts = 0

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            return post(request, delivery.timeout)

        retrying = Retrying(
            stop=stop_after_attempt(delivery.attempts) | stop_when_event_set(notifier.abort),
            wait=_wait(delivery),
            retry=retry_if_exception(lambda e: isinstance(e, SendError) and e.transient),
            sleep=notifier.sleep,  # a stopping daemon does not sit out a back-off
            before_sleep=lambda state: log.info(
                "notification.retrying",
                provider=provider.name,
                notification=event.type.value,
                attempt=state.attempt_number,
                error=str(state.outcome.exception()) if state.outcome else None,
            ),
            reraise=True,
        )
        try:
            code = retrying(attempt)
        except SendError as exc:
            notifier.count(provider, event, "failed")
            log.warning(
                "notification.failed",
                provider=provider.name,
                notification=event.type.value,
                attempts=attempts,
                error=str(exc),
            )
            return
        notifier.count(provider, event, "sent")
        log.info(
            "notification.sent",
            provider=provider.name,
            notification=event.type.value,
            status=code,
            attempts=attempts,
            revision=event.revision_id,
        )


def _wait(delivery: Delivery) -> Any:
    """min * 2^(n-1) plus up to `min` of jitter, capped; at least what Retry-After asks."""

    def wait(state: RetryCallState) -> float:
        exponential = delivery.min_backoff * 2.0 ** (state.attempt_number - 1)
        delay = min(delivery.max_backoff, exponential + random.uniform(0.0, delivery.min_backoff))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, SendError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, delivery.max_backoff))
        return delay

    return wait


class Notifier:
    def __init__(self, config: NotificationConfig, metrics: DaemonMetrics) -> None:
        self.config = config
        self.delivery = config.delivery
        self._metrics = metrics
        self._routes = config.routes()
        self._deriver = EventDeriver()
        self.stopping = threading.Event()  # no new events; send what is queued
        self.abort = threading.Event()  # stop now, even mid-retry
        self._queues = {p.name: _ProviderQueue(p, self) for p in config.providers}

    def start(self) -> None:
        for q in self._queues.values():
            q.thread.start()
        log.info(
            "notification.configured",
            providers=[f"{p.name} ({p.type})" for p in self.config.providers],
            events={e.value: [p.name for p in ps] for e, ps in self._routes.items()},
        )

    def stop(self, drain_seconds: float) -> None:
        """Send what is queued for up to `drain_seconds`, then give up on the rest."""
        self.stopping.set()
        deadline = time.monotonic() + drain_seconds
        for q in self._queues.values():
            q.thread.join(max(0.0, deadline - time.monotonic()))
        self.abort.set()
        for q in self._queues.values():
            q.thread.join(1.0)

    def sleep(self, seconds: float) -> None:
        self.abort.wait(seconds)

    def on_pass(self, result: PassResult) -> None:
        """The worker's listener: derive, enqueue, return (never blocks on a receiver)."""
        if self.stopping.is_set():
            return
        for event in self._deriver.events(result):
            for provider in self._routes.get(event.type, []):
                self._queues[provider.name].offer(event)

    def count(self, provider: Provider, event: Event, result: str) -> None:
        self._metrics.notifications.labels(
            provider=provider.name, event=event.type.value, result=result
        ).inc()

    def describe(self) -> dict[str, Any]:
        """For /status: providers and routes, never URLs or tokens."""
        return {
            "source": self.config.source,
            "providers": [{"name": p.name, "type": p.type} for p in self.config.providers],
            "events": {e.value: [p.name for p in ps] for e, ps in sorted(self._routes.items())},
            "queued": {name: q.queue.qsize() for name, q in self._queues.items()},
        }
