"""CloudFront Functions as AWS documents them, added to moto 5.2.5 from outside.

moto stores one code/config per function and ignores Stage and If-Match. This module
gives each function a DEVELOPMENT stage (moto's own fields: what Create/UpdateFunction
write) and, after the first PublishFunction, a LIVE stage (a snapshot kept on the same
moto object, so ``POST /moto-api/reset`` clears it), and adds:

- Describe/Get/ListFunctions honouring Stage (LIVE does not exist before a publish);
- UpdateFunction, PublishFunction, TestFunction; If-Match on every write (missing:
  InvalidIfMatchVersion, stale: PreconditionFailed 412), ETag rotation;
- the 10 KB code limit (FunctionSizeLimitExceeded), the runtime 2.0 requirement and the
  one-store limit for KeyValueStore associations;
- publishing redeploys every distribution that uses the function (new distribution
  ETag), and a function in use cannot be deleted (FunctionInUse).

TestFunction runs the function's real code through a runner registered with
``set_test_function_runner`` (the real one is the Node harness's
``reconciler.functions.execute_for_sandbox``; whoever starts a sandbox registers it);
with no runner it answers 501 rather than inventing a result.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from moto.cloudfront import urls as cf_urls
from moto.cloudfront.exceptions import FunctionAlreadyExists, NoSuchFunctionExists
from moto.cloudfront.models import CloudFrontBackend, CloudFrontFunction, random_id
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import utcnow

from reconciler.sandbox.cloudfront_distributions import (
    WRITE_LOCK,
    InvalidArgument,
    InvalidIfMatchVersion,
    PreconditionFailed,
    distributions_using,
    mark_redeploying,
)

DEVELOPMENT = "DEVELOPMENT"
LIVE = "LIVE"
MAX_CODE_BYTES = 10 * 1024
RUNTIMES = frozenset({"cloudfront-js-1.0", "cloudfront-js-2.0"})
KVS_RUNTIME = "cloudfront-js-2.0"

_install_lock = threading.Lock()
_installed = False
_LIVE_ATTR = "_reconciler_live"


# ------------------------------------------------------------------- runner seam


class FunctionRunResult(TypedDict):
    """What a runner reports for one execution of a function.

    ``output`` is the object the handler returned (the request or a response) or None if
    it threw; ``error`` the error message if it threw; ``logs`` the console.log lines;
    ``compute_utilization`` 0-100.
    """

    output: dict[str, Any] | None
    logs: list[str]
    error: str | None
    compute_utilization: int


# runner(code, event, kvs_entries or None) -> a mapping shaped like FunctionRunResult.
# Typed as a Mapping so a plain-dict runner (reconciler.functions.execute_for_sandbox)
# fits without a cast; the shape is checked on every call instead.
FunctionRunner = Callable[[str, dict[str, Any], dict[str, str] | None], Mapping[str, Any]]

_runner: FunctionRunner | None = None


def set_test_function_runner(runner: FunctionRunner | None) -> None:
    """Register (or with None, remove) the engine TestFunction executes code with."""
    global _runner
    _runner = runner


def test_function_runner() -> FunctionRunner | None:
    return _runner


# ------------------------------------------------------------------------ errors


class FunctionSizeLimitExceeded(ServiceException):
    code = "FunctionSizeLimitExceeded"


class FunctionInUse(ServiceException):
    code = "FunctionInUse"


# ------------------------------------------------------------------ stage model


@dataclass(frozen=True)
class LiveStage:
    """What PublishFunction copied from DEVELOPMENT."""

    code: bytes
    config: dict[str, Any]
    etag: str
    last_modified_time: datetime


def live_stage(function: CloudFrontFunction) -> LiveStage | None:
    stage: LiveStage | None = getattr(function, _LIVE_ATTR, None)
    return stage


def has_live_stage(function: CloudFrontFunction) -> bool:
    return live_stage(function) is not None


def _stage_view(function: CloudFrontFunction, stage: str) -> LiveStage:
    """The stage's code/config/etag; LIVE before a publish does not exist (as on AWS)."""
    if stage == DEVELOPMENT:
        return LiveStage(function.code, function.config, function.etag, function.last_modified_time)
    live = live_stage(function)
    if live is None:
        raise NoSuchFunctionExists(function.name)
    return live


def _status(backend: CloudFrontBackend, function: CloudFrontFunction) -> str:
    if not has_live_stage(function):
        return "UNPUBLISHED"
    return "ASSOCIATED" if distributions_using(backend, function.arn) else "UNASSOCIATED"


def _summary(
    backend: CloudFrontBackend, function: CloudFrontFunction, stage: str
) -> dict[str, Any]:
    view = _stage_view(function, stage)
    return {
        "Name": function.name,
        "Status": _status(backend, function),
        "FunctionConfig": view.config,
        "FunctionMetadata": {
            "FunctionARN": function.arn,
            "Stage": stage,
            "CreatedTime": function.created_time,
            "LastModifiedTime": view.last_modified_time,
        },
    }


# ------------------------------------------------------------------- validation


def _code_bytes(code: Any) -> bytes:
    return code if isinstance(code, bytes) else str(code or "").encode()


def _check_code(code: bytes) -> None:
    if len(code) > MAX_CODE_BYTES:
        raise FunctionSizeLimitExceeded(
            f"The function code is {len(code)} bytes; the maximum is {MAX_CODE_BYTES} bytes."
        )


def _check_config(backend: CloudFrontBackend, config: dict[str, Any]) -> None:
    runtime = config.get("Runtime")
    if runtime not in RUNTIMES:
        raise InvalidArgument(f"Unsupported function runtime {runtime!r}.")
    block = config.get("KeyValueStoreAssociations") or {}
    stores = list(block.get("Items") or [])
    if int(block.get("Quantity", len(stores))) != len(stores):
        raise InvalidArgument("KeyValueStoreAssociations: Quantity does not match Items.")
    if not stores:
        return
    if len(stores) > 1:
        raise InvalidArgument("A function can be associated with at most one KeyValueStore.")
    if runtime != KVS_RUNTIME:
        raise InvalidArgument(f"KeyValueStore associations need runtime {KVS_RUNTIME}.")
    arn = stores[0].get("KeyValueStoreARN")
    if arn not in {s.arn for s in backend.key_value_stores.values()}:
        raise InvalidArgument(f"The KeyValueStore {arn} does not exist.")


def _check_if_match(if_match: str | None, current: str, name: str) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != current:
        raise PreconditionFailed(
            f"The If-Match version {if_match} is not the current version of function {name}."
        )


def _stage_param(response: CloudFrontResponse) -> str:
    stage = response._get_param("Stage") or DEVELOPMENT
    if stage not in (DEVELOPMENT, LIVE):
        raise InvalidArgument(f"Stage must be {DEVELOPMENT} or {LIVE}, not {stage!r}.")
    return str(stage)


def _function(response: CloudFrontResponse) -> CloudFrontFunction:
    return response.backend.describe_function(response._get_param("Name"))


# ------------------------------------------------------------- response methods


def create_function(self: CloudFrontResponse) -> ActionResult:
    name = self._get_param("Name")
    config = self._get_param("FunctionConfig", {})
    code = _code_bytes(self._get_param("FunctionCode"))
    if name in self.backend.functions:
        raise FunctionAlreadyExists(name)
    _check_code(code)
    _check_config(self.backend, config)
    tags = self._get_param("Tags.Items", []) or []
    function = self.backend.create_function(name, config, code, tags)
    return ActionResult(
        {
            "FunctionSummary": _summary(self.backend, function, DEVELOPMENT),
            "Location": f"https://cloudfront.amazonaws.com/2020-05-31/function/{name}",
            "ETag": function.etag,
        }
    )


def describe_function(self: CloudFrontResponse) -> ActionResult:
    function, stage = _function(self), _stage_param(self)
    summary = _summary(self.backend, function, stage)
    return ActionResult({"FunctionSummary": summary, "ETag": _stage_view(function, stage).etag})


def get_function(self: CloudFrontResponse) -> ActionResult:
    view = _stage_view(_function(self), _stage_param(self))
    return ActionResult(
        {"FunctionCode": view.code, "ETag": view.etag, "ContentType": "application/octet-stream"}
    )


def list_functions(self: CloudFrontResponse) -> ActionResult:
    # Stage is a filter: without it, a published function is listed once per stage.
    wanted = self._get_param("Stage")
    summaries = [
        _summary(self.backend, function, stage)
        for function in self.backend.functions.values()
        for stage in (DEVELOPMENT, LIVE)
        if (wanted in (None, stage)) and (stage == DEVELOPMENT or has_live_stage(function))
    ]
    max_items = self._get_int_param("MaxItems", 100)
    start = int(self._get_param("Marker") or 0)
    page = summaries[start : start + max_items]
    more = start + max_items < len(summaries)
    return ActionResult(
        {
            "FunctionList": {
                "NextMarker": str(start + max_items) if more else None,
                "MaxItems": max_items,
                "Quantity": len(page),
                "Items": page,
            }
        }
    )


def update_function(self: CloudFrontResponse) -> ActionResult:
    function = _function(self)
    _check_if_match(self._get_param("IfMatch"), function.etag, function.name)
    config = self._get_param("FunctionConfig", {})
    code = _code_bytes(self._get_param("FunctionCode"))
    _check_code(code)
    _check_config(self.backend, config)
    function.code, function.config = code, config
    function.etag, function.last_modified_time = random_id(), utcnow()
    # botocore's model reads this ETag from a header named "ETtag" (the serializer writes
    # that one from the model); real clients and humans look for "ETag", so send both.
    self.response_headers["ETag"] = function.etag
    return ActionResult(
        {"FunctionSummary": _summary(self.backend, function, DEVELOPMENT), "ETag": function.etag}
    )


def publish_function(self: CloudFrontResponse) -> ActionResult:
    function = _function(self)
    # Only the DEVELOPMENT ETag publishes: the LIVE one fails once DEVELOPMENT has moved.
    _check_if_match(self._get_param("IfMatch"), function.etag, function.name)
    setattr(
        function,
        _LIVE_ATTR,
        LiveStage(function.code, dict(function.config), random_id(), utcnow()),
    )
    for distribution in distributions_using(self.backend, function.arn):
        mark_redeploying(distribution)
    return ActionResult({"FunctionSummary": _summary(self.backend, function, LIVE)})


def delete_function(self: CloudFrontResponse) -> EmptyResult:
    function = _function(self)
    _check_if_match(self._get_param("IfMatch"), function.etag, function.name)
    if distributions_using(self.backend, function.arn):
        raise FunctionInUse(f"The function {function.name} is associated with a distribution.")
    del self.backend.functions[function.name]
    return EmptyResult()


def test_function(self: CloudFrontResponse) -> Any:
    function, stage = _function(self), _stage_param(self)
    view = _stage_view(function, stage)
    _check_if_match(self._get_param("IfMatch"), view.etag, function.name)
    event = _decode_event(self._get_param("EventObject"))
    runner = _runner
    if runner is None:
        return _not_executed(
            "TestFunction not executed: no function runner registered in the sandbox "
            "(reconciler.sandbox.cloudfront_functions.set_test_function_runner)."
        )
    result = _run_result(runner(view.code.decode("utf-8"), event, _kvs_entries(view.config)))
    return ActionResult({"TestResult": _test_result(self.backend, function, stage, result)})


def _decode_event(raw: Any) -> dict[str, Any]:
    """EventObject arrives base64-decoded by moto's parser (a blob); it must be a JSON object."""
    data = raw if isinstance(raw, bytes) else _b64(str(raw or ""))
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"EventObject is not valid JSON: {e}") from e
    if not isinstance(event, dict):
        raise InvalidArgument("EventObject must be a JSON object.")
    return event


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as e:
        raise InvalidArgument(f"EventObject is not base64: {e}") from e


def _kvs_entries(config: dict[str, Any]) -> dict[str, str] | None:
    stores = (config.get("KeyValueStoreAssociations") or {}).get("Items") or []
    if not stores:
        return None
    # Imported late: the data-plane module belongs to another extension and may import us.
    from reconciler.sandbox import kvs_dataplane

    arn = stores[0]["KeyValueStoreARN"]
    try:
        entries: dict[str, str] = kvs_dataplane.entries_for_arn(arn)
    except LookupError as e:
        # The store was deleted after the association was made: say so, do not run blind.
        raise InvalidArgument(f"The associated KeyValueStore {arn} does not exist.") from e
    return entries


def _run_result(raw: Mapping[str, Any]) -> FunctionRunResult:
    """The runner's answer, checked: a malformed one is a harness bug, not a test result."""
    missing = set(FunctionRunResult.__annotations__) - set(raw)
    if missing:
        raise TypeError(f"TestFunction runner returned {dict(raw)!r}, missing {sorted(missing)}")
    return {
        "output": raw["output"],
        "logs": [str(line) for line in raw["logs"]],
        "error": raw["error"],
        "compute_utilization": int(raw["compute_utilization"]),
    }


def _test_result(
    backend: CloudFrontBackend, function: CloudFrontFunction, stage: str, run: FunctionRunResult
) -> dict[str, Any]:
    output = run["output"]
    return {
        "FunctionSummary": _summary(backend, function, stage),
        "ComputeUtilization": str(run["compute_utilization"]),
        "FunctionExecutionLogs": list(run["logs"]),
        "FunctionErrorMessage": run["error"] or "",
        "FunctionOutput": "" if output is None else json.dumps(_wrap_output(output)),
    }


def _wrap_output(output: dict[str, Any]) -> dict[str, Any]:
    # AWS reports what the handler returned under "response" when it is a response
    # (it has a statusCode) and under "request" when it is the (modified) request.
    return {"response": output} if "statusCode" in output else {"request": output}


def _not_executed(message: str) -> tuple[str, dict[str, Any]]:
    """A 501 in CloudFront's XML error format; botocore raises it as a ClientError."""
    body = (
        '<?xml version="1.0"?>\n<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        f"<Error><Type>Receiver</Type><Code>NotImplemented</Code><Message>{message}</Message>"
        "</Error><RequestId>sandbox</RequestId></ErrorResponse>"
    )
    return body, {"status": 501, "Content-Type": "application/xml"}


# ---------------------------------------------------------------------- install


def _serialized(method: Callable[[CloudFrontResponse], Any]) -> Callable[[CloudFrontResponse], Any]:
    """Runs a whole operation under the write lock: check If-Match and write as one step.

    TestFunction runs user code under it too; runs are short (a fresh vm context with a
    timeout) and the sandbox is not a load-test target.
    """

    @functools.wraps(method)
    def locked(self: CloudFrontResponse) -> Any:
        with WRITE_LOCK:
            return method(self)

    return locked


_ROUTES = (
    "{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$",
    "{0}/2020-05-31/function/(?P<function_name>[^/]+)/test$",
)
_RESPONSE_METHODS: tuple[Callable[[CloudFrontResponse], Any], ...] = (
    create_function,
    describe_function,
    get_function,
    list_functions,
    update_function,
    publish_function,
    delete_function,
    test_function,
)

# Attributes of moto's CloudFrontFunction this module reads or writes.
FUNCTION_ATTRIBUTES = (
    "name",
    "arn",
    "config",
    "code",
    "etag",
    "created_time",
    "last_modified_time",
)


def check_extension_points() -> list[str]:
    """What moto no longer offers that this module builds on (empty when all is well)."""
    problems = []
    probe = CloudFrontFunction("123456789012", "us-east-1", "probe", {}, b"")
    problems += [
        f"CloudFrontFunction has no attribute {a!r}"
        for a in FUNCTION_ATTRIBUTES
        if not hasattr(probe, a)
    ]
    for name in ("describe_function", "create_function", "functions", "key_value_stores"):
        if not hasattr(CloudFrontBackend("us-east-1", "123456789012"), name):
            problems.append(f"CloudFrontBackend has no {name!r}")
    if "{0}/2020-05-31/function/(?P<function_name>[^/]+)$" not in cf_urls.url_paths:
        problems.append("moto.cloudfront.urls.url_paths no longer routes /function/{Name}")
    # update_function adds the "ETag" header through response_headers, which moto merges
    # into every serialized answer.
    if "response_headers" not in BaseResponse.serialized.__code__.co_names:
        problems.append("BaseResponse.serialized no longer merges self.response_headers")
    return problems


def install() -> None:
    """Route and answer the function operations moto lacks; once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        problems = check_extension_points()
        if problems:
            raise RuntimeError(
                "moto's CloudFront internals changed; reconciler.sandbox.cloudfront_functions "
                "needs updating: " + "; ".join(problems)
            )
        for route in _ROUTES:
            cf_urls.url_paths[route] = CloudFrontResponse.dispatch
        for method in _RESPONSE_METHODS:
            setattr(CloudFrontResponse, method.__name__, _serialized(method))
        _installed = True
