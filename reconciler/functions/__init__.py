"""Offline harness for the edge functions.

- CloudFrontFunctionRunner: one persistent Node process; `.check(code)` (static check
  with positions) and `.run(code, event, kvs_entries)` (fresh vm context per run).
- execute_for_sandbox: the emulated CloudFront's TestFunction runner.
- run_lambda_edge: one Lambda@Edge invocation of the packaged function.
- build_package: the deterministic deployment zip and its CodeSha256.
"""

from reconciler.functions.cloudfront import (
    CloudFrontFunctionRunner,
    Execution,
    Finding,
    execute_for_sandbox,
)
from reconciler.functions.lambda_edge import run_lambda_edge
from reconciler.functions.node import HarnessError, HarnessNotInstalled
from reconciler.functions.package_zip import LambdaPackage, PackageError, build_package, code_sha256

__all__ = [
    "CloudFrontFunctionRunner",
    "Execution",
    "Finding",
    "HarnessError",
    "HarnessNotInstalled",
    "LambdaPackage",
    "PackageError",
    "build_package",
    "code_sha256",
    "execute_for_sandbox",
    "run_lambda_edge",
]
