"""Independent clients of the sandbox, configured as docs/sandbox.md tells any user to.

- stock boto3 (not reconciler.aws.clients: no host rewrite, nothing of ours), with the
  sandbox as its HTTP proxy;
- the AWS CLI (`awscli`, which vendors its own botocore), in a subprocess with the
  sandbox's client environment;
- the AWS SDK for JavaScript v3 (tests/sandbox/js), in Node, same environment.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from reconciler import emulator
from reconciler.sandbox.face import Sandbox

JS_DIR = Path(__file__).parent / "js"
AWS_CLI = Path(sys.executable).with_name("aws")


def handle(server: Any) -> Sandbox:
    """The sandbox's face over the session's server (the `aws` fixture's)."""
    return Sandbox(server)


def stock_boto3(server: Any, service: str, **config: Any) -> Any:
    url = handle(server).client_url
    return boto3.session.Session().client(
        service,
        region_name=emulator.REGION,
        endpoint_url=url,
        aws_access_key_id=emulator.CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=emulator.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=emulator.CREDENTIALS["AWS_SESSION_TOKEN"],
        config=Config(**{"proxies": {"http": url}, "retries": {"total_max_attempts": 1}, **config}),
    )


def aws_cli(server: Any, *args: str) -> tuple[int, Any]:
    """Runs `aws ARGS --output json`; (exit code, parsed stdout or stderr text)."""
    if not AWS_CLI.exists():
        pytest.skip("the AWS CLI is not installed (pip install awscli: the dev extra has it)")
    done = subprocess.run(
        [str(AWS_CLI), *args, "--output", "json"],
        env=handle(server).process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        return done.returncode, done.stderr
    return 0, json.loads(done.stdout) if done.stdout.strip() else None


def javascript(server: Any, scenario: str, **args: Any) -> dict[str, Any]:
    """One scenario of tests/sandbox/js/client.mjs; its JSON result."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@aws-sdk").is_dir():
        pytest.skip("the JS client is not installed (make install runs npm ci in tests/sandbox/js)")
    done = subprocess.run(
        [node, str(JS_DIR / "client.mjs"), scenario, json.dumps(args)],
        env=handle(server).process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result
