"""Runs a published Lambda@Edge version's own package in Node, one process per request.

The version's zip (as Lambda stored it, config.json included) is unpacked once per
version into a private folder; `node_modules` there links to a folder holding the AWS SDK
v3, standing in for what the Node.js Lambda runtime provides (ESM resolves packages from
the handler's folder upwards, and ignores NODE_PATH). DynamoDB calls go to the emulated
AWS through AWS_ENDPOINT_URL_DYNAMODB with throwaway credentials.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.edge.sandbox_state import LambdaVersion
from reconciler.functions.cloudfront import Execution
from reconciler.functions.node import HarnessError, harness_script, node_executable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RUNTIME_MODULES = REPO_ROOT / "edge_functions" / "tenant_router" / "node_modules"
SDK_PACKAGE = "@aws-sdk/client-dynamodb"
STDIN_RUNNER = Path(__file__).parent / "js" / "stdin_lambda_runner.mjs"


def _environment(region: str, dynamodb_endpoint: str) -> dict[str, str]:
    # From scratch, not copied: no developer profile or real credentials reach the function.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SDK_LOAD_CONFIG": "0",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


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
        self._lock = threading.Lock()

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)

    def _stage(self, version: LambdaVersion) -> Path:
        key = (version.arn, version.code_sha256)
        with self._lock:
            staged = self._staged.get(key)
            if staged is None:
                staged = self._root / f"v{len(self._staged)}"
                with zipfile.ZipFile(io.BytesIO(version.zip_bytes)) as archive:
                    archive.extractall(staged)
                (staged / "node_modules").symlink_to(self._modules, target_is_directory=True)
                self._staged[key] = staged
            return staged

    def invoke(self, version: LambdaVersion, event: Mapping[str, Any]) -> Execution:
        staged = self._stage(version)
        timeout_ms = version.timeout_s * 1000
        request = {
            "dir": str(staged),
            "handler": version.handler,
            "event": event,
            "timeoutMs": timeout_ms,
        }
        region = version.arn.split(":")[3]
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [
                    node_executable(),
                    "--no-warnings",
                    str(STDIN_RUNNER),
                    "-",  # replaced by the request read from stdin
                    str(harness_script("lambda_runner.mjs")),
                ],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                env=_environment(region, self._endpoint),
                timeout=timeout_ms / 1000.0 + 10,
                check=False,
            )
        except (subprocess.TimeoutExpired, OSError) as exc:
            raise HarnessError(f"Lambda@Edge runner did not run to the end: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000.0
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise HarnessError(
                f"Lambda@Edge runner failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
            )
        try:
            raw = json.loads(lines[-1])
        except ValueError as exc:
            raise HarnessError(f"Lambda@Edge runner wrote no result line: {exc}") from exc
        error = raw["error"] or (f"init: {raw['initError']}" if raw["initError"] else None)
        return Execution(
            output=raw["output"],
            logs=raw["logs"],
            error=error,
            duration_ms=raw["durationMs"] or elapsed,
        )
