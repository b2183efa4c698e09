"""Offline harness for the edge functions.

- EdgeFunctionTester: the test events of a CloudFront Function or a Lambda@Edge package,
  run against exactly the code being published (test-functions and the publish gate).
- CloudFrontFunctionRunner: one persistent Node process; `.check(code)` (static check
  with positions) and `.run(code, event, kvs_entries)` (fresh vm context per run).
- execute_for_sandbox: the emulated CloudFront's TestFunction runner.
- run_lambda_edge: one Lambda@Edge invocation of a folder's package.
- build_package / content_digest: the deterministic deployment zip, and what it holds.
"""

from reconciler.functions.cloudfront import (
    CloudFrontFunctionRunner,
    Execution,
    Finding,
    execute_for_sandbox,
)
from reconciler.functions.lambda_edge import run_lambda_edge
from reconciler.functions.node import HarnessError, HarnessNotInstalled
from reconciler.functions.package_zip import (
    LambdaPackage,
    PackageError,
    build_package,
    code_sha256,
    content_digest,
)
from reconciler.functions.test_events import SuiteResult, TestEventError, TestOutcome
from reconciler.functions.tester import EdgeFunctionTester

__all__ = [
    "CloudFrontFunctionRunner",
    "EdgeFunctionTester",
    "Execution",
    "Finding",
    "HarnessError",
    "HarnessNotInstalled",
    "LambdaPackage",
    "PackageError",
    "SuiteResult",
    "TestEventError",
    "TestOutcome",
    "build_package",
    "code_sha256",
    "content_digest",
    "execute_for_sandbox",
    "run_lambda_edge",
]
