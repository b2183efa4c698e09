"""Leader election with a lease item in DynamoDB, so that two replicas never both write.

One item per lease name in a table keyed by `lease` (S):

    {lease, holder, expires_at (N, wall-clock epoch seconds), ttl (N), renewed_at (N)}

* acquire: PutItem if the item is absent, expired (`expires_at < now`) or already ours;
* renew: UpdateItem of `expires_at` if `holder` is still us, every `duration / 3`;
* release (clean shutdown): DeleteItem if `holder` is still us.

Correctness comes only from those conditions; `ttl` (expiry + a day) lets DynamoDB's lazy
TTL sweeper collect leases of replicas that are long gone, nothing more.

The local side is stricter than the item: a replica may START a pass only until
`renew_sent + duration - guard` on its own monotonic clock (guard = duration / 3), i.e.
it steps down a third of a lease before anyone else can see the lease expire. That third
covers clock skew between replicas (the item carries wall-clock time; the assumption is
skew << duration / 3) and the moment between the check and the pass's first write. A pass
already in flight when the lease is lost is not interrupted (no batch is left half sent):
that pass is the one window in which an old leader may still write; docs/daemon.md.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import describe

log = structlog.get_logger("reconciler.daemon.leader")

GARBAGE_AFTER = 86400.0  # TTL = expiry + a day: deletion is lazy and only tidies up
KEY = "lease"


def holder_identity() -> str:
    """hostname + pid + a random suffix: a restarted process (same pid in a fresh
    container) never mistakes the lease of its predecessor for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def default_lease_name(*parts: str) -> str:
    """A name shared by replicas that reconcile the same thing (same inputs -> same name)."""
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    return f"reconciler-{digest}"


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    expires_at: float  # wall-clock epoch seconds


@dataclass(frozen=True)
class Attempt:
    """What one acquire or renew call found: held by us, or who holds it instead."""

    held: bool
    current: LeaseRecord | None = None


class LeaseTable:
    """The DynamoDB side: one conditional call per operation, `now` passed in (testable)."""

    def __init__(self, target: AwsTarget, table: str, name: str, holder: str) -> None:
        # Few attempts: a renew that retries for long only delays the step-down decision,
        # which is taken on the local clock anyway.
        self._ddb = make_client("dynamodb", AwsTarget(target.region, target.endpoint_url, 2))
        self.table = table
        self.name = name
        self.holder = holder

    @property
    def clients(self) -> tuple[Any, ...]:
        """The boto3 client (the daemon counts its calls like the passes' ones)."""
        return (self._ddb,)

    def ensure_table(self) -> bool:
        """Create the table (on demand, with TTL) unless it exists; True if created here."""
        try:
            self._ddb.describe_table(TableName=self.table)
            return False
        except self._ddb.exceptions.ResourceNotFoundException:
            pass
        try:
            self._ddb.create_table(
                TableName=self.table,
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except self._ddb.exceptions.ResourceInUseException:
            return False  # another replica created it a moment ago
        self._ddb.get_waiter("table_exists").wait(
            TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        self._ddb.update_time_to_live(
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
        )
        log.info("leader.table_created", table=self.table)
        return True

    def acquire(self, now: float, duration: float) -> Attempt:
        expires = now + duration
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={
                    KEY: {"S": self.name},
                    "holder": {"S": self.holder},
                    "expires_at": {"N": _num(expires)},
                    "renewed_at": {"N": _num(now)},
                    "ttl": {"N": str(int(expires + GARBAGE_AFTER))},
                },
                ConditionExpression=("attribute_not_exists(#k) OR #e < :now OR #h = :me"),
                ExpressionAttributeNames={"#k": KEY, "#e": "expires_at", "#h": "holder"},
                ExpressionAttributeValues={":now": {"N": _num(now)}, ":me": {"S": self.holder}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as exc:
            return Attempt(False, _record(getattr(exc, "response", {}).get("Item")))
        return Attempt(True, LeaseRecord(self.holder, expires))

    def renew(self, now: float, duration: float) -> Attempt:
        expires = now + duration
        try:
            self._ddb.update_item(
                TableName=self.table,
                Key={KEY: {"S": self.name}},
                UpdateExpression="SET #e = :exp, #t = :ttl, renewed_at = :now",
                ConditionExpression="#h = :me",
                ExpressionAttributeNames={"#e": "expires_at", "#t": "ttl", "#h": "holder"},
                ExpressionAttributeValues={
                    ":exp": {"N": _num(expires)},
                    ":ttl": {"N": str(int(expires + GARBAGE_AFTER))},
                    ":now": {"N": _num(now)},
                    ":me": {"S": self.holder},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException as exc:
            return Attempt(False, _record(getattr(exc, "response", {}).get("Item")))
        return Attempt(True, LeaseRecord(self.holder, expires))

    def release(self) -> bool:
        """Delete the item if it is still ours: the next replica need not wait for expiry."""
        try:
            self._ddb.delete_item(
                TableName=self.table,
                Key={KEY: {"S": self.name}},
                ConditionExpression="#h = :me",
                ExpressionAttributeNames={"#h": "holder"},
                ExpressionAttributeValues={":me": {"S": self.holder}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def read(self) -> LeaseRecord | None:
        item = self._ddb.get_item(
            TableName=self.table, Key={KEY: {"S": self.name}}, ConsistentRead=True
        ).get("Item")
        return _record(item)


def _num(value: float) -> str:
    return f"{value:.3f}"


def _holder(record: LeaseRecord | None) -> str | None:
    return record.holder if record else None


def _record(item: dict[str, Any] | None) -> LeaseRecord | None:
    if not item or "holder" not in item or "expires_at" not in item:
        return None
    return LeaseRecord(item["holder"]["S"], float(item["expires_at"]["N"]))


@dataclass(frozen=True)
class LeaderState:
    leader: bool
    reason: str  # why, for the `Leader` condition
    message: str
    current: LeaseRecord | None  # the lease as last seen


OnChange = Callable[[LeaderState], None]


class LeaderElector:
    """Holds (or waits for) the lease in a thread of its own.

    `may_write()` is what the worker asks before it starts a pass. It is decided on the
    local monotonic clock against the deadline of the last successful acquire/renew, so
    a renew call that hangs (network, throttling) cannot extend leadership.
    """

    def __init__(
        self,
        table: LeaseTable,
        duration: float,
        on_change: OnChange,
        *,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.duration = duration
        self.renew_every = duration / 3
        self.guard = duration / 3  # clock skew + check-to-first-write, see the module doc
        self._on_change = on_change
        self._wall = wall
        self._mono = mono
        self._lock = threading.Lock()
        self._deadline: float | None = None  # monotonic; None = not leader
        self._state = LeaderState(False, "Starting", "no lease attempt yet", None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self._table_ready = False
        self._ever_held = False
        self.transitions = 0

    @property
    def holder(self) -> str:
        return self.table.holder

    # --- the worker's question (any thread) -----------------------------------------

    def may_write(self) -> bool:
        with self._lock:
            return self._deadline is not None and self._mono() < self._deadline

    @property
    def state(self) -> LeaderState:
        with self._lock:
            return self._state

    # --- one step, driven by the thread or by a test --------------------------------

    def step(self) -> float:
        """One acquire or renew attempt (+ step-down check); returns seconds to the next."""
        self._expire_if_due()
        leading = self.may_write()
        try:
            if not self._table_ready:
                self.table.ensure_table()
                self._table_ready = True
            # Taken right before the call that sets the expiry, never earlier.
            sent_mono, sent_wall = self._mono(), self._wall()
            if leading:
                attempt = self.table.renew(sent_wall, self.duration)
            else:
                attempt = self.table.acquire(sent_wall, self.duration)
        except Exception as exc:  # AWS down: keep the deadline we have; never extend it
            log.warning("leader.lease_call_failed", renewing=leading, error=describe(exc))
            return self._after_error()
        if attempt.held:
            self._held(sent_mono, attempt.current, renewed=leading)
            # Counted from the send: a slow call must not push the renewal to the deadline.
            return max(0.0, sent_mono + self.renew_every - self._mono())
        self._not_held(attempt.current, lost=leading)
        return self._wait_for(attempt.current)

    def _held(self, sent_mono: float, current: LeaseRecord | None, renewed: bool) -> None:
        # Measured from before the call was sent: the item's expiry is at least as late.
        deadline = sent_mono + self.duration - self.guard
        with self._lock:
            was = self._deadline is not None
            self._deadline = deadline
            self._ever_held = True
        if not was:
            self._publish(
                LeaderState(True, "LeaseAcquired", f"holding lease as {self.holder}", current)
            )
        elif renewed:
            with self._lock:
                self._state = LeaderState(True, self._state.reason, self._state.message, current)

    def _not_held(self, current: LeaseRecord | None, lost: bool) -> None:
        who = current.holder if current else "another replica"
        with self._lock:
            self._deadline = None
        if lost:
            self._publish(LeaderState(False, "LeaseLost", f"lease taken over by {who}", current))
            return
        seen = self.state
        if seen.leader or seen.reason != "Follower" or _holder(seen.current) != _holder(current):
            self._publish(LeaderState(False, "Follower", f"lease held by {who}", current))
        else:  # the same holder renewed: no news for the log, only for /status
            with self._lock:
                self._state = LeaderState(False, seen.reason, seen.message, current)

    def _after_error(self) -> float:
        # Retry sooner than a full period, but not so often that a throttled table suffers.
        with self._lock:
            deadline = self._deadline
        if deadline is None:
            return self.renew_every
        return max(0.05, min(self.renew_every / 2, deadline - self._mono()))

    def _wait_for(self, current: LeaseRecord | None) -> float:
        """A follower tries again at the next period, or just after the lease it saw
        expires, whichever is sooner (a dead leader's lease is taken promptly)."""
        if current is None:
            return self.renew_every
        until_expiry = current.expires_at - self._wall() + 0.05
        return max(0.05, min(self.renew_every, until_expiry))

    def _expire_if_due(self) -> None:
        with self._lock:
            expired = self._deadline is not None and self._mono() >= self._deadline
            if expired:
                self._deadline = None
            current = self._state.current
        if expired:
            log.warning("leader.step_down", reason="lease not renewed in time")
            self._publish(
                LeaderState(
                    False, "RenewFailed", "lease not renewed in time: stepped down", current
                )
            )

    def _publish(self, state: LeaderState) -> None:
        with self._lock:
            changed = state.leader != self._state.leader
            self._state = state
            if changed:
                self.transitions += 1
        log.info(
            "leader.acquired" if state.leader else "leader.standby",
            reason=state.reason,
            holder=self.holder,
            current_holder=state.current.holder if state.current else None,
            lease=self.table.name,
        )
        self._on_change(state)

    # --- the thread -----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except Exception:  # the elector must outlive any bug in bookkeeping
                log.exception("leader.step_failed")
                wait = self.renew_every
            # Wake up for the step-down deadline too, even if the next call is later.
            with self._lock:
                deadline = self._deadline
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - self._mono()) + 0.001)
            self._stop.wait(wait)

    def stop(self, release: bool = True) -> None:
        """Stop renewing; release the lease (the caller has finished its last pass)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        with self._lock:
            self._deadline = None
            ever_held = self._ever_held
        # Conditional on `holder = me`: harmless if someone else holds it by now.
        if release and ever_held:
            try:
                released = self.table.release()
            except Exception as exc:  # the lease then simply expires
                log.warning("leader.release_failed", error=describe(exc))
                return
            log.info("leader.released", released=released, lease=self.table.name)
