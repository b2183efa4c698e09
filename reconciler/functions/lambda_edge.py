"""Lambda@Edge handlers, run offline: one Node subprocess per invocation.

What runs is the deployment package itself: the zip package_zip builds (config.json
included) is unpacked into a temporary folder, and only the dependencies the Lambda
runtime would provide (AWS SDK v3, a devDependency) come from the source folder's
node_modules through a symlink. So a file left out of the package, or a config the
function cannot read, fails here as it would at the edge.

DynamoDB calls go to `dynamodb_endpoint` (the emulated AWS) via
AWS_ENDPOINT_URL_DYNAMODB, with throwaway credentials: this never reaches real AWS.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.functions.cloudfront import Execution
from reconciler.functions.node import (
    HarnessError,
    harness_script,
    node_executable,
    require_node_modules,
)
from reconciler.functions.package_zip import build_package

SDK_PACKAGE = "@aws-sdk/client-dynamodb"
DEFAULT_TIMEOUT_MS = 5000  # the viewer-event limit; origin events allow up to 30 s


def _environment(config: Mapping[str, Any], dynamodb_endpoint: str) -> dict[str, str]:
    return emulator_environment(str(config.get("region", "us-east-1")), dynamodb_endpoint)


def emulator_environment(region: str, dynamodb_endpoint: str) -> dict[str, str]:
    """The environment a handler runs with offline. Built from scratch rather than copied:
    no developer profile, token or real endpoint can leak into the function."""
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


def _stage(folder: Path, config: Mapping[str, Any], into: Path) -> None:
    package = build_package(folder, config)
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        archive.extractall(into)
    (into / "node_modules").symlink_to(
        (folder / "node_modules").resolve(), target_is_directory=True
    )


def run_lambda_edge(
    folder: Path | str,
    event: Mapping[str, Any],
    config: Mapping[str, Any],
    dynamodb_endpoint: str,
    *,
    handler: str = "index.handler",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Execution:
    """Invoke the packaged handler of `folder` once with `event` and return what it did."""
    folder = Path(folder)
    require_node_modules(folder, SDK_PACKAGE)
    runner = harness_script("lambda_runner.mjs")
    with tempfile.TemporaryDirectory(prefix="lambda-edge-") as tmp:
        staged = Path(tmp)
        _stage(folder, config, staged)
        request = {"dir": str(staged), "handler": handler, "event": event, "timeoutMs": timeout_ms}
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [node_executable(), "--no-warnings", str(runner), json.dumps(request)],
                capture_output=True,
                text=True,
                env=_environment(config, dynamodb_endpoint),
                timeout=timeout_ms / 1000.0 + 10,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"Lambda@Edge runner did not exit: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000.0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise HarnessError(
            f"Lambda@Edge runner failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    raw = json.loads(lines[-1])
    error = raw["error"] or (f"init: {raw['initError']}" if raw["initError"] else None)
    output = raw["output"]
    return Execution(
        output=output,
        origin_changes=_origin_changes(event, output),
        logs=raw["logs"],
        error=error,
        compute_utilization=None,
        duration_ms=raw["durationMs"] or elapsed,
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
