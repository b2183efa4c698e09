"""When the next pass is due: debounced file changes, resync timer, retry, explicit requests.

Pure bookkeeping with the clock passed in, so the rules can be read (and tested) apart
from threads: the worker asks `next_due(now)` and either runs a pass or sleeps until the
returned deadline or the next notification, whichever comes first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class Trigger(StrEnum):
    STARTUP = "startup"
    CHANGE = "change"  # route files or edge function sources changed
    RESYNC = "resync"  # periodic full pass: catches drift and missed events
    RETRY = "retry"  # back-off after a failed pass
    MANUAL = "manual"  # POST /reconcile (after fetching the git source, if there is one)
    WEBHOOK = "webhook"  # a signed push notification (after fetching the git source)
    RESUME = "resume"  # suspension lifted: whatever changed meanwhile


@dataclass
class Due:
    trigger: Trigger | None  # a pass is due now for this reason
    wait: float | None  # else: seconds until something becomes due (None: only a notification)


@dataclass
class Schedule:
    debounce: float
    debounce_max: float
    resync_interval: float
    resync_jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)

    first_change: float | None = None
    last_change: float | None = None
    requested: Trigger | None = None
    retry_at: float | None = None
    next_resync: float | None = None

    def start(self, now: float) -> None:
        self.requested = Trigger.STARTUP
        self._schedule_resync(now)

    def note_change(self, now: float) -> None:
        if self.first_change is None:
            self.first_change = now
        self.last_change = now

    def request(self, trigger: Trigger) -> None:
        self.requested = trigger

    def retry_after(self, now: float, delay: float) -> None:
        self.retry_at = now + delay

    def skip_resync(self, now: float) -> None:
        """The resync came due while stalled: no pass, the next resync is scheduled."""
        self._schedule_resync(now)

    def next_due(self, now: float) -> Due:
        if self.requested is not None:
            return Due(self.requested, 0.0)
        deadlines: list[tuple[float, Trigger]] = []
        if self.first_change is not None and self.last_change is not None:
            # Quiet for `debounce`, or a steady stream for `debounce_max`: whichever first.
            deadlines.append(
                (
                    min(self.last_change + self.debounce, self.first_change + self.debounce_max),
                    Trigger.CHANGE,
                )
            )
        if self.retry_at is not None:
            deadlines.append((self.retry_at, Trigger.RETRY))
        if self.next_resync is not None:
            deadlines.append((self.next_resync, Trigger.RESYNC))
        if not deadlines:
            return Due(None, None)
        at, trigger = min(deadlines, key=lambda d: d[0])
        if at <= now:
            return Due(trigger, 0.0)
        return Due(None, at - now)

    def pass_started(self, now: float) -> None:
        """A whole pass covers everything pending: changes seen so far, the retry, the
        resync. Changes noted from here on (during the pass) make one follow-up pass."""
        self.first_change = None
        self.last_change = None
        self.requested = None
        self.retry_at = None
        self._schedule_resync(now)

    def _schedule_resync(self, now: float) -> None:
        if self.resync_interval <= 0:
            self.next_resync = None
            return
        spread = self.resync_interval * self.resync_jitter
        self.next_resync = now + self.resync_interval + self.rng.uniform(-spread, spread)
