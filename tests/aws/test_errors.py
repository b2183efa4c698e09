"""The one code table and the translating context manager (reconciler/aws/errors.py): what
each AWS error schedules, checked against botocore's own lists and over the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.retries import standard

from reconciler.aws.errors import (
    CODES,
    AccessDeniedError,
    AlreadyExistsError,
    ConflictError,
    ErrorClass,
    FatalError,
    RetryableError,
    ThrottledError,
    translate,
    translated,
)
from reconciler.engine import Outcome, Reconciler
from tests.support.routes import write_policy, write_store


def client_error(code: str, status: int, message: str = "m", op: str = "Op") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        op,
    )


def test_every_code_botocore_retries_as_throttling_is_throttling_here() -> None:
    """botocore's standard retry mode is the source; a code it adds fails this test."""
    for code in standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES:
        assert CODES.get(code) is ThrottledError, code
    for code in standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES:
        assert CODES.get(code) is not None and issubclass(CODES[code], RetryableError), code


@pytest.mark.parametrize(
    ("code", "status", "cls", "error_class"),
    [
        ("Throttling", 400, ThrottledError, ErrorClass.RETRYABLE),
        ("ThrottlingException", 429, ThrottledError, ErrorClass.RETRYABLE),
        ("ProvisionedThroughputExceededException", 400, ThrottledError, ErrorClass.RETRYABLE),
        # Lambda's "an update is in progress" is a 409: the table decides before the
        # status, so it stays retryable (the old classifier's dead entry).
        ("ResourceConflictException", 409, RetryableError, ErrorClass.RETRYABLE),
        ("PreconditionFailed", 412, ConflictError, ErrorClass.CONFLICT),
        ("ConflictException", 409, ConflictError, ErrorClass.CONFLICT),
        ("EntityAlreadyExists", 409, AlreadyExistsError, ErrorClass.CONFLICT),
        ("AccessDeniedException", 400, AccessDeniedError, ErrorClass.FATAL),
        ("AccessDenied", 403, AccessDeniedError, ErrorClass.FATAL),
        ("InvalidIfMatchVersion", 400, FatalError, ErrorClass.FATAL),
        ("ValidationException", 400, FatalError, ErrorClass.FATAL),
        ("SomethingNew", 503, RetryableError, ErrorClass.RETRYABLE),  # by status
        ("SomethingNew", 400, FatalError, ErrorClass.FATAL),
    ],
)
def test_the_code_table_decides_then_the_status(
    code: str, status: int, cls: type, error_class: ErrorClass
) -> None:
    error = translate(client_error(code, status), "UpdateKeys")
    assert type(error) is cls and error.error_class is error_class
    assert error.code == code and error.operation == "UpdateKeys"
    assert str(error).startswith(f"UpdateKeys: {code}")


def test_throttling_asks_for_a_longer_wait() -> None:
    assert translate(client_error("Throttling", 400)).retry_after == pytest.approx(10.0)
    assert translate(client_error("ServiceUnavailable", 503)).retry_after is None


def test_network_errors_are_retryable_and_a_bug_is_retried_too() -> None:
    assert translate(EndpointConnectionError(endpoint_url="http://x")).error_class is ErrorClass.RETRYABLE
    assert translate(ReadTimeoutError(endpoint_url="http://x")).error_class is ErrorClass.RETRYABLE
    bug = translate(KeyError("x"))
    assert bug.error_class is ErrorClass.RETRYABLE and bug.code == "InternalError"


def test_translated_overrides_a_code_for_one_call_and_names_the_subject() -> None:
    overrides = {"ResourceInUseException": AlreadyExistsError}
    with (
        pytest.raises(AlreadyExistsError, match=r"^table t: CreateTable: ResourceInUseException"),
        translated("CreateTable", overrides, "table t"),
    ):
        raise client_error("ResourceInUseException", 400, op="CreateTable")
    with pytest.raises(RetryableError), translated("UpdateTable"):
        raise client_error("ResourceInUseException", 400, op="UpdateTable")


def _store_repo(root: Path) -> Path:
    write_policy(root / "routes")
    write_store(root / "routes", "tier-origins", {"basic": "basic-api.example.com"})
    return root / "routes"


def test_access_denied_on_the_wire_fails_the_pass_as_fatal(aws: Any, tmp_path: Path) -> None:
    aws.server.hooks.inject(
        "cloudfront", "CreateKeyValueStore", kind="internal-error", status=400,
        code="AccessDenied", count=1,
    )  # fmt: skip
    report = Reconciler(_store_repo(tmp_path), tmp_path, aws.target).run_pass()
    assert report.outcome is Outcome.FAILED
    assert (report.error_class, report.reason) == (ErrorClass.FATAL, "AccessDenied")
    assert report.errors[0].startswith("CreateKeyValueStore: AccessDenied")


def test_throttling_past_botocores_budget_fails_retryable_with_a_wait(
    aws: Any, tmp_path: Path
) -> None:
    aws.server.hooks.inject("cloudfront", "CreateKeyValueStore", kind="throttle", count=1)
    report = Reconciler(_store_repo(tmp_path), tmp_path, aws.target).run_pass()
    assert report.outcome is Outcome.FAILED and report.error_class is ErrorClass.RETRYABLE
    assert report.reason == "Throttling" and report.retry_after == pytest.approx(10.0)
