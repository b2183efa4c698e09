"""The typed errors of a pass: what an error means for whoever schedules the next attempt.

reconciler/aws/errors.py maps every AWS error to one of these (one code table, one
translating context manager); the engine raises them for its own refusals (a failed test
gate, a stale plan); the daemon schedules by `error_class` (kopf's TemporaryError /
PermanentError, Flux's RequeueAfter / TerminalError):

- RetryableError: the same request may succeed later (throttling, 5xx, a reset, a
  resource busy with an update). Back off, at least `retry_after` seconds.
- ConflictError: what the plan was made from changed (a stale ETag, a resource that
  appeared). The pass re-observes and re-plans, a bounded number of times.
- FatalError: retrying the same input cannot help (validation, permissions, a failed test
  gate). The daemon stalls until the input changes or an operator asks.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    RETRYABLE = "retryable"
    CONFLICT = "conflict"
    FATAL = "fatal"


# Seconds the daemon waits at least after a pass that ended throttled: the service asked
# for less traffic, so the first back-off step (1 s) would only be throttled again.
THROTTLE_RETRY_AFTER = 10.0


class ReconcileError(Exception):
    """An error with its class attached; raised by adapters, phases and the pass."""

    error_class: ErrorClass = ErrorClass.FATAL

    def __init__(
        self,
        message: str,
        code: str = "",
        *,
        operation: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        """A CamelCase reason for conditions and metrics: the AWS code or the class name."""
        return self.code or type(self).__name__


class RetryableError(ReconcileError):
    error_class = ErrorClass.RETRYABLE


class ThrottledError(RetryableError):
    """The service throttled us past botocore's retry budget."""


class ConflictError(ReconcileError):
    error_class = ErrorClass.CONFLICT


class AlreadyExistsError(ConflictError):
    """A create found its resource: our own earlier create whose answer was lost (a reset,
    then botocore's retry), or another writer. Either way: re-observe, re-plan."""


class FatalError(ReconcileError):
    error_class = ErrorClass.FATAL


class NotFoundError(FatalError):
    """The resource named does not exist (observe catches it: absent)."""


class AccessDeniedError(FatalError):
    """Missing IAM permission: an operator must grant it; retrying cannot help."""
