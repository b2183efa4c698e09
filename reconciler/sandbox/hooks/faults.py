"""Faults made on the wire, in the shape the real service answers with.

A throttle is retried by botocore's standard retry mode, a reset is a real dropped
socket, an injected error is parsed by every SDK like the service's own. Where each
error's code, status and message come from:

- every service: the throttle is the first throttling error the operation declares in
  botocore's model (ProvisionedThroughputExceededException, TooManyRequestsException,
  ThrottlingException, ...), the internal error the first server error it declares
  (InternalServerError, InternalServerException, ServiceException), with the model's
  status and documentation text; e.g. dynamodb PutItem -> ProvisionedThroughputExceeded
  (400, the text AWS documents for it), dynamodb ListTables -> the common
  ThrottlingException, lambda -> TooManyRequestsException (429) / ServiceException (500).
- cloudfront: the model declares no throttling error. Throttling (400, "Rate exceeded")
  is what CloudFront answers when throttled, as reported from real accounts
  (ansible-collections/community.aws#296 through botocore; the raw XML in
  spacecatninja/craft-imager-x#19). An ASSUMPTION from those reports, not a document.
  InternalFailure (500) and ServiceUnavailable (503) are AWS's common errors (API
  reference, "Common Errors").
- cloudfront-keyvaluestore: the model declares no throttling error either. 429
  ThrottlingException "Rate exceeded" is an ASSUMPTION (the usual rest-json shape; no
  report of the real answer was found). InternalServerException (500) is a model shape.
- an operation that declares none of them: AWS's common errors (ThrottlingException 400
  for JSON protocols, Throttling 400 otherwise, InternalFailure 500, ServiceUnavailable
  503).

An "error" fault answers any code: the code must be an error shape of the service's
botocore model (refused otherwise); its status defaults to the model's and its message to
the shape's documentation in the model; `status` and `message` may override them (e.g.
Lambda's "... because it is a replicated function" text, which the model cannot know).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.sandbox import wire_model


class FaultKind(StrEnum):
    THROTTLE = "throttle"  # the service's throttling error: retryable
    INTERNAL_ERROR = "internal-error"  # 500
    UNAVAILABLE = "unavailable"  # 503
    ERROR = "error"  # any error shape of the service's model (code required)
    RESET = "reset"  # TCP reset before any response byte
    LATENCY = "latency"  # sleep `delay` seconds, then serve normally
    RACE = "race"  # run `action` (another writer), then serve normally


# Kinds that answer in place of the service; the others only delay or precede it.
TERMINAL = frozenset(
    {
        FaultKind.THROTTLE,
        FaultKind.INTERNAL_ERROR,
        FaultKind.UNAVAILABLE,
        FaultKind.ERROR,
        FaultKind.RESET,
    }
)


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    code: str
    message: str


# Services whose model declares no throttling error at all: assumptions, see above.
_THROTTLE = {
    "cloudfront": ErrorAnswer(400, "Throttling", "Rate exceeded"),
    "cloudfront-keyvaluestore": ErrorAnswer(429, "ThrottlingException", "Rate exceeded"),
}
# The text AWS documents for a throttle where the model's documentation is generic
# (DynamoDB Developer Guide, "Error handling": ProvisionedThroughputExceededException).
_DOCUMENTED_TEXT = {
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
}
_COMMON_INTERNAL = ErrorAnswer(
    500,
    "InternalFailure",
    "The request processing has failed because of an unknown error, exception or failure.",
)
_COMMON_UNAVAILABLE = ErrorAnswer(
    503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."
)


def model_error(service: str, code: str) -> ErrorAnswer:
    """An error shape of the service's botocore model (ValueError if it has none)."""
    shape = wire_model.error_shape(service, code)
    if shape is None:
        raise ValueError(
            f"{code!r} is not an error of {service}'s botocore model; an injected error "
            "must be one AWS can answer"
        )
    status, documentation = shape
    return ErrorAnswer(status, code, documentation)


_THROTTLING_CODES = (
    "ProvisionedThroughputExceededException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
)
_SERVER_ERROR_CODES = ("InternalServerError", "InternalServerException", "ServiceException")


def _declared(service: str, operation: str | None, codes: tuple[str, ...]) -> ErrorAnswer | None:
    errors = wire_model.operation_errors(service, operation) if operation else {}
    for code in codes:
        if code in errors:
            status, documentation = errors[code]
            return ErrorAnswer(status, code, _DOCUMENTED_TEXT.get(code, documentation))
    return None


def answer_for(
    service: str,
    kind: FaultKind,
    status: int | None,
    code: str | None,
    message: str | None,
    operation: str | None = None,
) -> ErrorAnswer:
    """What a terminal fault answers: the operation's own error, with overrides."""
    if kind is FaultKind.ERROR:
        if not code:
            raise ValueError("an error fault needs the error code")
        base = model_error(service, code)
    elif kind is FaultKind.THROTTLE:
        base = (
            _declared(service, operation, _THROTTLING_CODES)
            or _THROTTLE.get(service)
            or _common_throttle(service)
        )
    elif kind is FaultKind.UNAVAILABLE:
        base = _COMMON_UNAVAILABLE
    else:
        base = _declared(service, operation, _SERVER_ERROR_CODES) or _COMMON_INTERNAL
    return ErrorAnswer(status or base.status, code or base.code, message or base.message)


def _common_throttle(service: str) -> ErrorAnswer:
    shape = wire_model.shape_of(service)
    json_protocol = shape is not None and shape.protocol.endswith("json")
    code = "ThrottlingException" if json_protocol else "Throttling"
    return ErrorAnswer(400, code, "Rate exceeded")


_REASONS = {400: "Bad Request", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}  # fmt: skip


def error_response(
    service: str, has_target_header: bool, answer: ErrorAnswer, start_response: Any
) -> Iterable[bytes]:
    """The error in the service's protocol, as botocore (and other SDKs) parse it."""
    shape = wire_model.shape_of(service)
    protocol = shape.protocol if shape else ("json" if has_target_header else "query")
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "json":
        prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
        body = json.dumps({"__type": prefix + answer.code, "message": answer.message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
    elif protocol == "rest-json":
        body = json.dumps({"message": answer.message, "Message": answer.message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", answer.code)]
    else:  # rest-xml, query, ec2
        xmlns = (
            ' xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"'
            if service == "cloudfront"
            else ""
        )
        body = (
            f'<?xml version="1.0"?><ErrorResponse{xmlns}><Error><Type>'
            f"{'Sender' if answer.status < 500 else 'Receiver'}</Type><Code>{answer.code}</Code>"
            f"<Message>{_xml_escape(answer.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{answer.status} {_REASONS.get(answer.status, 'Error')}", headers)
    return [body]


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def compiled(where: str | None) -> re.Pattern[str] | None:
    if where is None:
        return None
    try:
        return re.compile(where)
    except re.error as exc:
        raise ValueError(f"where is not a regular expression: {exc}") from exc
