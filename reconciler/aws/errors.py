"""One place that decides what an AWS error means for the caller.

- Retryable: try the same thing again later (throttling, 5xx, network). botocore's retry
  mode already retried it; reaching us means the budget is spent, so the pass fails and
  the daemon backs off.
- Conflict: someone changed what we observed (stale ETag). Re-read, re-plan, retry.
- Fatal: retrying cannot help (validation, permissions, quotas). Stop and report.
"""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)


class ErrorClass(StrEnum):
    RETRYABLE = "retryable"
    CONFLICT = "conflict"
    FATAL = "fatal"


CONFLICT_CODES = frozenset({"ConflictException", "PreconditionFailed", "InvalidIfMatchVersion"})
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalError",
        "ResourceInUseException",
        "ResourceConflictException",  # Lambda: an update is still in progress
    }
)


class ReconcileError(Exception):
    """An error with its class attached, raised by adapters and the executor."""

    def __init__(self, message: str, error_class: ErrorClass, code: str = "") -> None:
        super().__init__(message)
        self.error_class = error_class
        self.code = code


class ConflictError(ReconcileError):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message, ErrorClass.CONFLICT, code)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def classify(exc: BaseException) -> ErrorClass:
    if isinstance(exc, ReconcileError):
        return exc.error_class
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in CONFLICT_CODES or status in (409, 412):
            return ErrorClass.CONFLICT
        if code in RETRYABLE_CODES or status >= 500 or status == 429:
            return ErrorClass.RETRYABLE
        return ErrorClass.FATAL
    if isinstance(exc, BotoConnectionError | HTTPClientError | ReadTimeoutError):
        return ErrorClass.RETRYABLE
    if isinstance(exc, BotoCoreError):
        return ErrorClass.FATAL
    return ErrorClass.FATAL


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "")
        return f"{op}: {err.get('Code', '')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
