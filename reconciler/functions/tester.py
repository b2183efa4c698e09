"""The edge functions' test events, run against exactly the code being published.

One tester for `reconciler test-functions` and for the reconcile pass's publish gate:

    from reconciler.functions.tester import EdgeFunctionTester

    with EdgeFunctionTester(dynamodb_endpoint=None) as tester:
        suite = tester.test_cloudfront(folder, code, kvs_defaults, name=None, tests=None)
        suite = tester.test_lambda(folder, package, config, handler="index.handler",
                                   name="tenant-router", timeout_ms=5000, tests=None)
    suite.passed     # no static finding, every case passed
    suite.problems   # one line per reason, naming the case's file and name with
                     # expected and actual, e.g.
                     #   tests/known_tenant.json "known tenant": hostHeader expected
                     #   'acme-backend.example.com', got 'wrong.example.com'
    suite.outcomes   # TestOutcome(name, passed, ms, problems, execution) per case

`tests` (optional, the document's `spec.tests`): the cases' folder (one case per *.json)
or file (one case or a list); default folder/tests. `name`: the suite's name (default the
folder's name).

- test_cloudfront(folder, code, kvs_defaults): the static check (acorn) and every case of
  folder/tests/*.json run against `code` (the bytes being published, not what is on
  disk), each in a fresh node:vm context. `kvs_defaults`: the entries declared for the
  function's store, used by cases without their own `kvs` (None: an empty store).
- test_lambda(folder, package, config): every case of folder/tests/*.json run against
  `package.zip_bytes` (a LambdaPackage: the candidate zip, config.json included, unpacked
  into a temporary folder; not a rebuild from the folder), each in a fresh container
  (a cold start) with the stand-in of the runtime's AWS SDK. `config` is the declared
  LambdaEdgeFunction config; it names the table a case's `items` go to (tableName,
  partitionKey, sortKey, region) unless the case says `table`. A folder/node_modules
  (a developer's own install) is linked in as the function's own packages.
- DynamoDB: a plain moto server (ThreadedMotoServer) started on the first Lambda suite
  and stopped on exit, or `dynamodb_endpoint` when given (its tables named by the cases
  are dropped and recreated). Handlers run with reconciler/emulator.py's environment:
  dummy credentials, every AWS endpoint at the emulator; they cannot reach real AWS.

A case that fails, including a case whose container dies, is a failed outcome. Raised:
TestEventError (a test event file cannot be read) and HarnessError / HarnessNotInstalled
(Node or the harness is missing): the suite could not run, which a gate treats as failed.
Thread-safety: one tester per thread (the CloudFront runner is shared safely, the rest is
not meant for concurrent suites).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.emulator import REGION
from reconciler.functions.cloudfront import CloudFrontFunctionRunner, Finding
from reconciler.functions.emulated_dynamodb import EmulatedDynamoDb, TableSpec
from reconciler.functions.lambda_edge import (
    DEFAULT_TIMEOUT_MS,
    LambdaContainer,
    handler_environment,
    stage_package,
)
from reconciler.functions.node import HarnessError, node_executable, runtime_sdk_dir
from reconciler.functions.package_zip import LambdaPackage
from reconciler.functions.test_events import (
    FunctionKind,
    SuiteResult,
    TestCase,
    TestOutcome,
    closed_port_url,
    cloudfront_suite,
    load_cases,
    outcome,
)

__all__ = ["EdgeFunctionTester"]


class EdgeFunctionTester:
    def __init__(
        self, dynamodb_endpoint: str | None = None, *, cloudfront_timeout_ms: int = 200
    ) -> None:
        self._cloudfront_timeout_ms = cloudfront_timeout_ms
        self._runner: CloudFrontFunctionRunner | None = None
        self._dynamodb = EmulatedDynamoDb(dynamodb_endpoint)

    def __enter__(self) -> EdgeFunctionTester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self._dynamodb.close()

    # -- CloudFront Functions --------------------------------------------------------------

    def test_cloudfront(
        self,
        folder: Path,
        code: bytes,
        kvs_defaults: Mapping[str, str] | None,
        *,
        name: str | None = None,
        tests: Path | None = None,
    ) -> SuiteResult:
        folder = Path(folder)
        try:
            text = code.decode("utf-8")
        except UnicodeDecodeError as exc:
            finding = Finding("encoding", f"the code is not UTF-8 ({exc.reason})", 1, 1)
            return SuiteResult(
                name or folder.name, FunctionKind.CLOUDFRONT_FUNCTION, folder, [finding], []
            )
        if self._runner is None:
            self._runner = CloudFrontFunctionRunner(self._cloudfront_timeout_ms)
        return cloudfront_suite(self._runner, folder, text, kvs_defaults, name=name, tests=tests)

    # -- Lambda@Edge -----------------------------------------------------------------------

    def test_lambda(
        self,
        folder: Path,
        package: LambdaPackage,
        config: Mapping[str, Any],
        *,
        handler: str = "index.handler",
        name: str | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        tests: Path | None = None,
    ) -> SuiteResult:
        folder = Path(folder)
        node_executable()
        runtime_sdk_dir()
        cases = load_cases(folder, tests)
        function = name or folder.name
        outcomes: list[TestOutcome] = []
        if cases:
            with tempfile.TemporaryDirectory(prefix="lambda-edge-test-") as tmp:
                task = stage_package(package.zip_bytes, Path(tmp), folder / "node_modules")
                for case in cases:
                    outcomes.append(
                        self._lambda_case(task, case, config, handler, function, timeout_ms)
                    )
        source = handler.rsplit(".", 1)[0] + ".mjs"
        return SuiteResult(function, FunctionKind.LAMBDA_EDGE, folder, [], outcomes, source)

    def _lambda_case(
        self,
        task: Path,
        case: TestCase,
        config: Mapping[str, Any],
        handler: str,
        function: str,
        timeout_ms: int,
    ) -> TestOutcome:
        started = time.perf_counter()
        table = TableSpec.resolve(case.table, config)
        if case.items and table is None:
            return outcome(
                FunctionKind.LAMBDA_EDGE,
                case,
                None,
                0.0,
                "items given but no table to put them in: set the case's "
                '"table" or tableName in the config',
            )
        endpoint = self._dynamodb.endpoint
        if table is not None:
            self._dynamodb.reset_table(table, case.items)
        env = handler_environment(
            endpoint,
            str(config.get("region") or REGION),
            dynamodb_endpoint=closed_port_url() if case.dynamodb == "unreachable" else None,
        )
        try:
            with LambdaContainer(task, handler, function, env) as container:
                execution = container.invoke(case.event, timeout_ms)
        except HarnessError as exc:
            ms = (time.perf_counter() - started) * 1000
            return outcome(
                FunctionKind.LAMBDA_EDGE, case, None, ms, f"the harness failed: {exc}"
            )
        ms = (time.perf_counter() - started) * 1000
        return outcome(FunctionKind.LAMBDA_EDGE, case, execution, ms)
