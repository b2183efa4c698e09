"""TestFunction: the function's real code, executed once, answered in AWS's shape.

Every sandbox server has a NodeFunctionRunner (the project's Node harness,
reconciler.functions): starting a server checks that Node and the harness's npm
dependencies are there and fails with the install command otherwise, so TestFunction
always runs the real code and never answers with an invented result. One TestFunction
call is one call of the harness's sandbox entry point, whose one result (output, logs,
error, ComputeUtilization) the answer reports as is, as AWS reports one run.

Gaps from AWS: ComputeUtilization is the harness's figure (CPU time of the handler on
this machine as a share of CloudFront's budget, docs/edge-functions.md), not CloudFront's
own measurement; a harness failure (not the function's) answers TestFunctionFailed 500,
the error the model declares for "The CloudFront function failed".
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, TypedDict

from moto.core.exceptions import ServiceException

from reconciler.sandbox.cloudfront.errors import InvalidArgument


class TestFunctionFailed(ServiceException):  # 500
    code = "TestFunctionFailed"
    message = "The CloudFront function failed."


class FunctionRunResult(TypedDict):
    """One execution: the object the handler returned (None if it threw), the
    console.log lines, the error message if it threw, compute utilization 0-100."""

    output: dict[str, Any] | None
    logs: list[str]
    error: str | None
    compute_utilization: int


class NodeFunctionRunner:
    """TestFunction's engine: the Node harness's sandbox entry point, one call per request.

    `reconciler.functions.execute_for_sandbox` owns how a TestFunction execution is run
    and measured (a persistent Node process, a fresh vm context per run); the sandbox
    takes the one result it returns per call as is, and aggregates nothing itself.
    Constructing one checks that Node and the harness's npm dependencies are installed.
    """

    def __init__(self) -> None:
        from reconciler.functions.cloudfront import execute_for_sandbox
        from reconciler.functions.node import harness_script, node_executable

        # Both raise HarnessNotInstalled with the command to run: no Node, no sandbox.
        node_executable()
        harness_script("cf_server.mjs")
        self._execute = execute_for_sandbox

    def __call__(
        self, code: str, event: dict[str, Any], kvs_entries: dict[str, str] | None
    ) -> FunctionRunResult:
        from reconciler.functions.node import HarnessError

        try:
            return checked(self._execute(code, event, kvs_entries))
        except HarnessError as exc:
            raise TestFunctionFailed(f"The CloudFront function failed: {exc}") from exc

    def close(self) -> None:
        """Nothing to close: the harness's process is shared and stopped at exit."""


def decode_event(raw: Any) -> dict[str, Any]:
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


def checked(raw: Mapping[str, Any]) -> FunctionRunResult:
    """A runner's answer, checked: a malformed one is a harness bug, not a test result."""
    missing = set(FunctionRunResult.__annotations__) - set(raw)
    if missing:
        raise TypeError(f"TestFunction runner returned {dict(raw)!r}, missing {sorted(missing)}")
    return {
        "output": raw["output"],
        "logs": [str(line) for line in raw["logs"]],
        "error": raw["error"],
        "compute_utilization": int(raw["compute_utilization"]),
    }


def test_result(summary: dict[str, Any], run: FunctionRunResult) -> dict[str, Any]:
    output = run["output"]
    return {
        "FunctionSummary": summary,
        "ComputeUtilization": str(run["compute_utilization"]),
        "FunctionExecutionLogs": list(run["logs"]),
        "FunctionErrorMessage": run["error"] or "",
        "FunctionOutput": "" if output is None else json.dumps(_wrap_output(output)),
    }


def _wrap_output(output: dict[str, Any]) -> dict[str, Any]:
    # AWS reports what the handler returned under "response" when it is a response
    # (it has a statusCode) and under "request" when it is the (modified) request.
    return {"response": output} if "statusCode" in output else {"request": output}
