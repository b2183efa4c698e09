"""Runs a published Lambda@Edge version's own package in warm Node containers.

The version's zip (as Lambda stored it, config.json included) is unpacked once per
version into a private folder; `node_modules` there links to a folder holding the AWS SDK
v3, standing in for what the Node.js Lambda runtime provides (ESM resolves packages from
the handler's folder upwards, and ignores NODE_PATH). DynamoDB calls go to the emulated
AWS through AWS_ENDPOINT_URL_DYNAMODB with throwaway credentials.

Like Lambda, a container (one Node process, js/lambda_container.mjs) loads the handler
once and serves one invocation at a time; concurrent requests get more containers. A
container is discarded after a timeout or a failed init, as Lambda discards the
execution environment; a handler error keeps it.
"""

from __future__ import annotations

import collections
import contextlib
import io
import itertools
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.edge.sandbox_state import LambdaVersion
from reconciler.functions.cloudfront import Execution
from reconciler.functions.lambda_edge import emulator_environment
from reconciler.functions.node import HarnessError, node_executable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUNTIME_MODULES = REPO_ROOT / "edge_functions" / "tenant_router" / "node_modules"
SDK_PACKAGE = "@aws-sdk/client-dynamodb"
CONTAINER_SCRIPT = Path(__file__).parent / "js" / "lambda_container.mjs"
# A cold container imports the handler and the SDK before its first reply.
_COLD_START_GRACE_S = 10.0
_TIMED_OUT = "Task timed out"


def _environment(region: str, dynamodb_endpoint: str) -> dict[str, str]:
    return emulator_environment(region, dynamodb_endpoint)


class _Container:
    """One Node process serving invocations of one version, one at a time."""

    def __init__(self, staged: Path, version: LambdaVersion, env: Mapping[str, str]) -> None:
        setup = {
            "dir": str(staged),
            "handler": version.handler,
            "functionName": version.arn.split(":")[6],
        }
        self._proc = subprocess.Popen(
            [node_executable(), "--no-warnings", str(CONTAINER_SCRIPT), json.dumps(setup)],
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

    def invoke(
        self, invocation_id: str, event: Mapping[str, Any], timeout_ms: int
    ) -> dict[str, Any]:
        assert self._proc.stdin is not None
        grace = 2.0 if self.warm else _COLD_START_GRACE_S
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
        reply: dict[str, Any] = json.loads(line)
        if reply.get("id") != invocation_id:
            raise HarnessError(f"out-of-order reply from the Lambda@Edge container: {line[:200]}")
        self.warm = True
        return reply

    def close(self) -> None:
        if self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


class LambdaEdgeInvoker:
    def __init__(self, dynamodb_endpoint: str, runtime_modules: Path | None = None) -> None:
        self._endpoint = dynamodb_endpoint
        self._modules = (runtime_modules or DEFAULT_RUNTIME_MODULES).resolve()
        if not (self._modules / SDK_PACKAGE / "package.json").is_file():
            raise HarnessError(
                f"{self._modules}/{SDK_PACKAGE} is missing: run "
                f"`npm ci --prefix {self._modules.parent}` (it stands in for the Lambda runtime's SDK)"
            )
        self._root = Path(tempfile.mkdtemp(prefix="local-edge-lambda-"))
        self._staged: dict[tuple[str, str], Path] = {}
        self._idle: dict[tuple[str, str], list[_Container]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            containers = [c for idle in self._idle.values() for c in idle]
            self._idle = {}
        for container in containers:
            container.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def _stage(self, version: LambdaVersion) -> Path:
        key = (version.arn, version.code_sha256)
        staged = self._staged.get(key)
        if staged is None:
            staged = self._root / f"v{len(self._staged)}"
            with zipfile.ZipFile(io.BytesIO(version.zip_bytes)) as archive:
                archive.extractall(staged)
            (staged / "node_modules").symlink_to(self._modules, target_is_directory=True)
            self._staged[key] = staged
        return staged

    def _acquire(self, version: LambdaVersion) -> _Container:
        key = (version.arn, version.code_sha256)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if idle:
                return idle.pop()
            staged = self._stage(version)
        region = version.arn.split(":")[3]
        return _Container(staged, version, _environment(region, self._endpoint))

    def _release(self, version: LambdaVersion, container: _Container) -> None:
        with self._lock:
            self._idle.setdefault((version.arn, version.code_sha256), []).append(container)

    def invoke(self, version: LambdaVersion, event: Mapping[str, Any]) -> Execution:
        container = self._acquire(version)
        try:
            raw = container.invoke(f"local-{next(self._ids)}", event, version.timeout_s * 1000)
        except HarnessError:
            container.close()
            raise
        error = raw["error"] or (f"init: {raw['initError']}" if raw["initError"] else None)
        if raw["initError"] or (error or "").startswith(_TIMED_OUT):
            container.close()
        else:
            self._release(version, container)
        return Execution(
            output=raw["output"], logs=raw["logs"], error=error, duration_ms=raw["durationMs"]
        )
