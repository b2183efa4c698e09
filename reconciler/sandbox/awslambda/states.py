"""Lambda function states as AWS documents them (Lambda Developer Guide, "Lambda
function states"; botocore's lambda model for the enums and waiters).

- CreateFunction answers State Pending, StateReasonCode Creating; reads of $LATEST
  (GetFunction, GetFunctionConfiguration) report Pending for `lambda_update_reads` reads,
  then Active.
- UpdateFunctionCode / UpdateFunctionConfiguration answer LastUpdateStatus InProgress;
  reads report InProgress for `lambda_update_reads` reads, then Successful.
- While Pending or InProgress, UpdateFunctionCode, UpdateFunctionConfiguration and
  PublishVersion fail with ResourceConflictException 409, "The operation cannot be
  performed at this time. An update is in progress for resource: <arn>" (AWS's message,
  as reported in aws/aws-cli#6718 and motdotla/node-lambda#535) or "... The function is
  currently in the following state: Pending".
- Once a read has reported the settled state, the function stays settled until the next
  write, whatever the switch says later (NEVER only holds changes not yet seen settled).

Gaps from AWS: published versions are Active at once (AWS: Pending for a moment, and
CloudFront rejects associating a Pending version); Failed states are not emulated; the
reason texts (StateReason, LastUpdateStatusReason) are not returned.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse

from reconciler.sandbox import context
from reconciler.sandbox.switches import still_transitional

_CHANGE_ATTR = "_reconciler_change"  # None | "create" | "update"
_READS_ATTR = "_reconciler_reads"
CREATE, UPDATE = "create", "update"


class ResourceConflict(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


def _changed(function: LambdaFunction, change: str) -> None:
    setattr(function, _CHANGE_ATTR, change)
    setattr(function, _READS_ATTR, 0)


def transitional(function: LambdaFunction) -> str | None:
    """CREATE or UPDATE while the last write has not settled, else None (not counted)."""
    change: str | None = getattr(function, _CHANGE_ATTR, None)
    if change is None:
        return None
    reads = int(getattr(function, _READS_ATTR, 0))
    return (
        change
        if still_transitional(reads, context.current().switches.lambda_update_reads)
        else None
    )


def _read(function: LambdaFunction, configuration: dict[str, Any]) -> None:
    """One read of $LATEST: report the state, count the read, latch a settled state."""
    change = transitional(function)
    if change == CREATE:
        configuration.update(State="Pending", StateReasonCode="Creating")
        configuration.pop("LastUpdateStatus", None)
    elif change == UPDATE:
        configuration["LastUpdateStatus"] = "InProgress"
    else:
        setattr(function, _CHANGE_ATTR, None)
    setattr(function, _READS_ATTR, int(getattr(function, _READS_ATTR, 0)) + 1)


def refuse_while_transitional(function: LambdaFunction) -> None:
    change = transitional(function)
    if change == CREATE:
        raise ResourceConflict(
            "The operation cannot be performed at this time. The function is currently in "
            "the following state: Pending"
        )
    if change == UPDATE:
        raise ResourceConflict(
            "The operation cannot be performed at this time. An update is in progress for "
            f"resource: {function.function_arn}"
        )


def _latest(response: LambdaResponse, name: str) -> LambdaFunction:
    return response.backend.get_function(name, None)


def _is_latest(qualifier: str | None, name: str) -> bool:
    tail = name.split(":function:")[-1] if name.startswith("arn:") else name
    return qualifier in (None, "$LATEST") and (":" not in tail or tail.endswith(":$LATEST"))


def _status_and_json(result: Any) -> tuple[Any, dict[str, Any]]:
    """moto answers a str (200) or (status, headers, body)."""
    if isinstance(result, tuple):
        status, headers, body = result
        return (status, headers), json.loads(body)
    return None, json.loads(result)


def _rebuild(prefix: Any, body: dict[str, Any]) -> Any:
    text = json.dumps(body)
    return text if prefix is None else (*prefix, text)


def after_create(original: Callable[[LambdaResponse], Any]) -> Callable[[LambdaResponse], Any]:
    @functools.wraps(original)
    def create_function(self: LambdaResponse) -> Any:
        prefix, body = _status_and_json(original(self))
        _changed(_latest(self, body["FunctionName"]), CREATE)
        body.update(State="Pending", StateReasonCode="Creating")
        body.pop("LastUpdateStatus", None)
        return _rebuild(prefix, body)

    return create_function


def guarded_update(
    original: Callable[[LambdaResponse], Any],
) -> Callable[[LambdaResponse], Any]:
    @functools.wraps(original)
    def update(self: LambdaResponse) -> Any:
        name = unquote(self.path.rsplit("/", 2)[-2])
        refuse_while_transitional(_latest(self, name))
        prefix, body = _status_and_json(original(self))
        if prefix is None or prefix[0] == 200:
            _changed(_latest(self, name), UPDATE)
            body["LastUpdateStatus"] = "InProgress"
        return _rebuild(prefix, body)

    return update


def guarded_publish(original: Callable[[LambdaResponse], Any]) -> Callable[[LambdaResponse], Any]:
    @functools.wraps(original)
    def publish_version(self: LambdaResponse) -> Any:
        refuse_while_transitional(_latest(self, unquote(self.path.split("/")[-2])))
        return original(self)

    return publish_version


def reading(
    original: Callable[[LambdaResponse], Any], name_at: int
) -> Callable[[LambdaResponse], Any]:
    """GetFunction (name last in the path) / GetFunctionConfiguration (second last)."""

    @functools.wraps(original)
    def read(self: LambdaResponse) -> Any:
        name = unquote(self.path.rsplit("/", name_at)[-name_at])
        prefix, body = _status_and_json(original(self))
        if _is_latest(self._get_param("Qualifier", None), name):
            configuration = body.get("Configuration", body)
            _read(_latest(self, name), configuration)
        return _rebuild(prefix, body)

    return read
