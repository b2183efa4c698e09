"""Lambda@Edge handlers, run offline in Node: the project's one Lambda runner.

A deployment package (zip bytes, exactly as published or about to be) is staged as

    <stage>/task/          the zip, unpacked (config.json and all, as the runtime sees it)
    <stage>/task/node_modules -> the function's own node_modules (optional, see below)
    <stage>/node_modules   -> the stand-in of the runtime's AWS SDK (js/runtime_sdk/)

ESM ignores NODE_PATH; bare imports walk up the parent folders' node_modules. So the
function's own packages win and the runtime SDK answers everything else, as in the
Lambda Node.js runtimes. A folder's own node_modules (a developer's `npm install` of its
package.json) is linked in only when the package does not carry one: it adds to the
runtime SDK, it is never required.

A LambdaContainer (one Node process running js/lambda_container.mjs) loads the handler
once and serves invocations one at a time; events go over stdin. The handler's
environment is built from scratch by reconciler/emulator.py: dummy credentials, every
AWS endpoint pointed at the emulated AWS, so a handler can never reach real AWS.
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import queue
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import REGION, client_environment
from reconciler.functions.cloudfront import Execution
from reconciler.functions.node import HarnessError, harness_script, node_executable, runtime_sdk_dir
from reconciler.functions.package_zip import build_package

DEFAULT_TIMEOUT_MS = 5000  # the viewer-event limit; origin events allow up to 30 s
CONTAINER_SCRIPT = "lambda_container.mjs"
# A cold container imports the handler and the SDK before its first reply.
_COLD_START_GRACE_S = 10.0
_WARM_GRACE_S = 2.0
TIMED_OUT = "Task timed out"
_ids = itertools.count(1)


def handler_environment(
    endpoint_url: str, region: str = REGION, *, dynamodb_endpoint: str | None = None
) -> dict[str, str]:
    """The environment a handler runs with offline: every SDK client goes to the emulated
    AWS at `endpoint_url` (DynamoDB to `dynamodb_endpoint` when given)."""
    env = client_environment(endpoint_url, region)
    if dynamodb_endpoint is not None:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    return env


def stage_package(zip_bytes: bytes, stage: Path, own_modules: Path | None = None) -> Path:
    """Unpack the package under `stage` with the runtime SDK above it; returns the task
    folder (what `dir` of the container is)."""
    task = stage / "task"
    task.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        archive.extractall(task)  # extractall drops absolute and `..` parts of names
    (stage / "node_modules").symlink_to(runtime_sdk_dir(), target_is_directory=True)
    if own_modules is not None and own_modules.is_dir() and not (task / "node_modules").exists():
        (task / "node_modules").symlink_to(own_modules.resolve(), target_is_directory=True)
    return task


class LambdaContainer:
    """One Node process serving invocations of one staged package, one at a time."""

    def __init__(
        self, task: Path, handler: str, function_name: str, env: Mapping[str, str]
    ) -> None:
        setup = {"dir": str(task), "handler": handler, "functionName": function_name}
        self._proc = subprocess.Popen(
            [node_executable(), "--no-warnings", str(harness_script(CONTAINER_SCRIPT)), json.dumps(setup)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=dict(env),
        )
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=50)
        self.warm = False
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def _pump_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip())

    def invoke(self, event: Mapping[str, Any], timeout_ms: int) -> Execution:
        """One invocation. A HarnessError means the container is unusable (close it)."""
        assert self._proc.stdin is not None
        invocation_id = f"offline-{next(_ids)}"
        grace = _WARM_GRACE_S if self.warm else _COLD_START_GRACE_S
        started = time.perf_counter()
        try:
            self._proc.stdin.write(
                json.dumps({"id": invocation_id, "event": event, "timeoutMs": timeout_ms}) + "\n"
            )
            self._proc.stdin.flush()
            line = self._replies.get(timeout=timeout_ms / 1000.0 + grace)
        except (OSError, queue.Empty):
            line = None
        if line is None:
            raise HarnessError(
                "the Lambda@Edge container died or hung; its stderr:\n" + "\n".join(self._stderr)
            )
        raw: dict[str, Any] = json.loads(line)
        if raw.get("id") != invocation_id:
            raise HarnessError(f"out-of-order reply from the Lambda@Edge container: {line[:200]}")
        self.warm = True
        error = raw["error"] or (f"init: {raw['initError']}" if raw["initError"] else None)
        return Execution(
            output=raw["output"],
            origin_changes=_origin_changes(event, raw["output"]),
            logs=raw["logs"],
            error=error,
            compute_utilization=None,
            duration_ms=raw["durationMs"] or (time.perf_counter() - started) * 1000.0,
        )

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> LambdaContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def discard_after(execution: Execution) -> bool:
    """Lambda discards an environment after a failed init or a timeout, not after an error."""
    return (execution.error or "").startswith(("init: ", TIMED_OUT))


def run_package_once(
    zip_bytes: bytes,
    event: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    handler: str = "index.handler",
    function_name: str = "function",
    own_modules: Path | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Execution:
    """A cold start and one invocation of the package, in a fresh container."""
    with tempfile.TemporaryDirectory(prefix="lambda-edge-") as tmp:
        task = stage_package(zip_bytes, Path(tmp), own_modules)
        with LambdaContainer(task, handler, function_name, env) as container:
            return container.invoke(event, timeout_ms)


def run_lambda_edge(
    folder: Path | str,
    event: Mapping[str, Any],
    config: Mapping[str, Any],
    dynamodb_endpoint: str,
    *,
    handler: str = "index.handler",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Execution:
    """Build `folder`'s package with `config` and invoke it once; every AWS endpoint of the
    handler is `dynamodb_endpoint` (the emulated AWS)."""
    folder = Path(folder)
    package = build_package(folder, config)
    env = handler_environment(dynamodb_endpoint, str(config.get("region") or REGION))
    return run_package_once(
        package.zip_bytes,
        event,
        env,
        handler=handler,
        function_name=folder.name,
        own_modules=folder / "node_modules",
        timeout_ms=timeout_ms,
    )


def _origin_changes(event: Mapping[str, Any], output: Any) -> list[dict[str, Any]]:
    """Lambda@Edge changes the origin by returning a request with a different origin."""
    if not isinstance(output, dict) or "origin" not in output:
        return []
    try:
        before = event["Records"][0]["cf"]["request"].get("origin")
    except (KeyError, IndexError, TypeError):
        before = None
    if output["origin"] == before:
        return []
    return [{"helper": "request.origin", "args": output["origin"]}]
