"""What an AWS error means for the caller: one code table, one translating context manager.

Every adapter call runs inside `translated(operation)`, which turns any botocore error
into one of the typed classes below (httpx's map_httpcore_exceptions is the model). The
class decides the schedule, all the way up to the daemon (kopf's TemporaryError /
PermanentError, Flux's RequeueAfter / TerminalError):

- RetryableError: the same request may succeed later (throttling, 5xx, a reset, a
  resource busy with an update). botocore's standard retry mode already retried it, so
  reaching us means its budget is spent: the pass fails and the daemon backs off, at
  least `retry_after` seconds (throttling asks for more room than a 5xx).
- ConflictError: what the plan was made from changed (a stale ETag, a resource that
  appeared). The pass re-observes and re-plans, a bounded number of times.
- FatalError: retrying the same input cannot help (validation, permissions, a failed test
  gate, a missing resource the plan needs). The daemon stalls until the input changes or
  an operator asks.

NotFoundError and AlreadyExistsError are fatal and conflict by default; adapters catch
them where absence or presence is an answer (observe: "absent"; create: "lost answer to
our own create, re-plan").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    WaiterError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from reconciler.core.errors import (
    THROTTLE_RETRY_AFTER,
    AccessDeniedError,
    AlreadyExistsError,
    ConflictError,
    ErrorClass,
    FatalError,
    NotFoundError,
    ReconcileError,
    RetryableError,
    ThrottledError,
)

# Re-exported: the adapters' callers import the classes from here with the table.
__all__ = [
    "SDK_ERRORS",
    "THROTTLE_RETRY_AFTER",
    "AccessDeniedError",
    "AlreadyExistsError",
    "ConflictError",
    "ErrorClass",
    "FatalError",
    "NotFoundError",
    "ReconcileError",
    "RetryableError",
    "ThrottledError",
    "classify",
    "describe",
    "error_code",
    "translate",
    "translated",
]


# The code table. Sources: botocore's standard retry mode (botocore/retries/standard.py:
# _THROTTLED_ERROR_CODES, _TRANSIENT_ERROR_CODES; tests/aws/test_errors.py fails when it
# lists a code this table lacks) and each service's API reference for the rest.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
CODES: Mapping[str, type[ReconcileError]] = {
    **{code: ThrottledError for code in THROTTLING_CODES},
    # transient server-side failures
    "RequestTimeout": RetryableError,
    "RequestTimeoutException": RetryableError,
    "ServiceUnavailable": RetryableError,
    "ServiceUnavailableException": RetryableError,
    "ServiceException": RetryableError,  # Lambda 500
    "InternalFailure": RetryableError,
    "InternalError": RetryableError,
    "InternalServerError": RetryableError,  # DynamoDB 500
    "InternalServerException": RetryableError,  # KVS data plane 500
    # busy: Lambda "The operation cannot be performed at this time. An update is in
    # progress" (409) and DynamoDB "table is being updated" (400). A create that finds the
    # resource overrides these per call (see the adapters).
    "ResourceConflictException": RetryableError,
    "ResourceInUseException": RetryableError,
    # stale preconditions: CloudFront 412 PreconditionFailed, KVS data plane 409
    # ConflictException; a Lambda PublishVersion whose CodeSha256 no longer matches is
    # translated by the Lambda adapter (its code, InvalidParameterValueException, is
    # otherwise a validation error).
    "PreconditionFailed": ConflictError,
    "ConflictException": ConflictError,
    # already there
    "EntityAlreadyExists": AlreadyExistsError,  # CloudFront CreateKeyValueStore
    "FunctionAlreadyExists": AlreadyExistsError,  # CloudFront CreateFunction
    "ResourceAlreadyExistsException": AlreadyExistsError,
    # not there
    "EntityNotFound": NotFoundError,
    "NoSuchResource": NotFoundError,
    "NoSuchFunctionExists": NotFoundError,
    "NoSuchDistribution": NotFoundError,
    "NoSuchCachePolicy": NotFoundError,
    "NoSuchOriginRequestPolicy": NotFoundError,
    "ResourceNotFoundException": NotFoundError,
    "NoSuchEntity": NotFoundError,
    # permissions and credentials
    "AccessDenied": AccessDeniedError,
    "AccessDeniedException": AccessDeniedError,
    "UnauthorizedOperation": AccessDeniedError,
    "UnrecognizedClientException": AccessDeniedError,
    "InvalidClientTokenId": AccessDeniedError,
    "ExpiredToken": RetryableError,  # a refreshed session token fixes it
    "ExpiredTokenException": RetryableError,
    # a missing IfMatch is our bug, not someone else's write
    "InvalidIfMatchVersion": FatalError,
}
# What an AWS SDK call can raise: for callers outside reconciler/aws that must catch it
# (they translate() it) without importing botocore themselves.
SDK_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

# Status codes without a code in the table (a proxy's 502, an empty 5xx body).
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    if isinstance(exc, ReconcileError):
        return exc.code
    return type(exc).__name__


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _message(exc: ClientError, operation: str) -> str:
    err = exc.response.get("Error", {})
    op = operation or getattr(exc, "operation_name", "")
    return f"{op}: {err.get('Code', '')}: {err.get('Message', '')}".strip()


def translate(
    exc: BaseException,
    operation: str = "",
    overrides: Mapping[str, type[ReconcileError]] | None = None,
    subject: str = "",
) -> ReconcileError:
    """The typed error for any exception an AWS call can raise. The code table decides
    first (so a 409 that means "busy" stays retryable), then the HTTP status. `subject`
    (e.g. "store tier-origins") starts the message."""
    if isinstance(exc, ReconcileError):
        return exc
    error = _translate(exc, operation, overrides)
    if subject:
        error.args = (f"{subject}: {error}",)
    return error


def _translate(
    exc: BaseException,
    operation: str,
    overrides: Mapping[str, type[ReconcileError]] | None,
) -> ReconcileError:
    if isinstance(exc, ClientError):
        code = error_code(exc)
        cls = (overrides or {}).get(code) or CODES.get(code)
        if cls is None:
            cls = RetryableError if _status(exc) in RETRYABLE_STATUS else FatalError
        retry_after = THROTTLE_RETRY_AFTER if issubclass(cls, ThrottledError) else None
        op = operation or getattr(exc, "operation_name", "")
        return cls(_message(exc, op), code, operation=op, retry_after=retry_after)
    name = type(exc).__name__
    if isinstance(
        exc,
        BotoConnectionError
        | HTTPClientError
        | ReadTimeoutError
        | ConnectTimeoutError
        | EndpointConnectionError,
    ):
        return RetryableError(f"{operation}: {name}: {exc}", name, operation=operation)
    if isinstance(exc, NoCredentialsError):
        return AccessDeniedError(
            f"{operation}: no AWS credentials: {exc}", "NoCredentials", operation=operation
        )
    if isinstance(exc, ParamValidationError | WaiterError | BotoCoreError):
        return FatalError(f"{operation}: {name}: {exc}", name, operation=operation)
    # Not an AWS error: a bug of ours. kopf's default for arbitrary exceptions: retry with
    # back-off (the traceback is logged by the pass).
    return RetryableError(
        f"{operation + ': ' if operation else ''}internal error: {type(exc).__name__}: {exc}",
        "InternalError",
        operation=operation,
    )


@contextmanager
def translated(
    operation: str,
    overrides: Mapping[str, type[ReconcileError]] | None = None,
    subject: str = "",
) -> Iterator[None]:
    """Run one AWS call; any botocore error leaves as a typed ReconcileError.

    `overrides` changes the meaning of a code for this call only, where the same code means
    different things per operation (ResourceInUseException on CreateTable: the table
    exists; elsewhere: the table is busy).
    """
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, operation, overrides, subject) from exc


def classify(exc: BaseException) -> ErrorClass:
    return translate(exc).error_class


def describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return _message(exc, "")
    if isinstance(exc, ReconcileError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
