"""Runs a published Lambda@Edge version's own package in warm containers.

The version's zip (as Lambda stored it, config.json included) is staged once per version
by the harness (reconciler/functions/lambda_edge.py): unpacked, with the stand-in of the
Lambda Node.js runtime's AWS SDK above it, so any function runs, not only ones whose SDK
was installed by hand. Every AWS call of the handler goes to the emulated AWS.

Like Lambda, a container (one Node process, the harness's LambdaContainer) loads the
handler once and serves one invocation at a time; concurrent requests get more
containers. A container is discarded after a timeout or a failed init, as Lambda discards
the execution environment; a handler error keeps it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.edge.sandbox_state import LambdaVersion
from reconciler.functions.cloudfront import Execution
from reconciler.functions.lambda_edge import (
    LambdaContainer,
    discard_after,
    handler_environment,
    stage_package,
)
from reconciler.functions.node import HarnessError, runtime_sdk_dir


class LambdaEdgeInvoker:
    def __init__(self, sandbox_endpoint: str) -> None:
        self._endpoint = sandbox_endpoint
        runtime_sdk_dir()  # fail at start, with the fix, rather than on the first request
        self._root = Path(tempfile.mkdtemp(prefix="local-edge-lambda-"))
        self._staged: dict[tuple[str, str], Path] = {}
        self._idle: dict[tuple[str, str], list[LambdaContainer]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            containers = [c for idle in self._idle.values() for c in idle]
            self._idle = {}
        for container in containers:
            container.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def _task(self, version: LambdaVersion) -> Path:
        key = (version.arn, version.code_sha256)
        task = self._staged.get(key)
        if task is None:
            task = stage_package(version.zip_bytes, self._root / f"v{len(self._staged)}")
            self._staged[key] = task
        return task

    def _acquire(self, version: LambdaVersion) -> LambdaContainer:
        key = (version.arn, version.code_sha256)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if idle:
                return idle.pop()
            task = self._task(version)
        region = version.arn.split(":")[3]
        name = version.arn.split(":")[6]
        return LambdaContainer(task, version.handler, name, handler_environment(self._endpoint, region))

    def _release(self, version: LambdaVersion, container: LambdaContainer) -> None:
        with self._lock:
            self._idle.setdefault((version.arn, version.code_sha256), []).append(container)

    def invoke(self, version: LambdaVersion, event: Mapping[str, Any]) -> Execution:
        container = self._acquire(version)
        try:
            execution = container.invoke(event, version.timeout_s * 1000)
        except HarnessError:
            container.close()
            raise
        if discard_after(execution):
            container.close()
        else:
            self._release(version, container)
        return execution
