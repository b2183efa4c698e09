"""The test gate: nothing is published that failed its tests.

Two checks, both fatal when they fail (the pass stalls until the code changes):
- offline, before the pass writes anything at all: every function the plan writes runs
  its own test events in Node, against exactly the bytes being deployed (the CloudFront
  Function's code; the Lambda@Edge candidate package);
- on AWS, for a CloudFront Function, after its DEVELOPMENT stage is written and before it
  is published: TestFunction with a few of the same events, judged on function errors
  and compute utilization.

Compute utilization is noisy on AWS too (and in the sandbox, which measures one run on
a shared machine): a reading over the limit is taken again twice and the median of the
three readings decides, so one noisy reading neither blocks a publish nor lets a
function that is really over the limit through.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from reconciler.aws.errors import FatalError
from reconciler.core.functions import short
from reconciler.core.model import Action, ResourceKind
from reconciler.emulator import CREDENTIALS
from reconciler.functions.node import HarnessError
from reconciler.functions.package_zip import LambdaPackage
from reconciler.functions.test_events import SuiteResult, load_cases

log = structlog.get_logger("reconciler.gate")

DEFAULT_MAX_COMPUTE_UTILIZATION = 70  # AWS: above ~70 risks throttling
TESTFUNCTION_EVENTS = 3
COMPUTE_READINGS = 3


class FunctionTestFailed(FatalError):
    """A function's tests failed: it is not published; fixing the code is the way on."""

    def __init__(self, name: str, code: str, problems: Sequence[str]) -> None:
        self.function = name
        self.code_hash = code
        self.problems = tuple(problems)
        super().__init__(
            f"function {name}: tests failed, not published (the last good version stays "
            "live):\n  " + "\n  ".join(self.problems),
            "FunctionTestFailed",
        )


class FunctionTester(Protocol):
    """Runs a function's test events offline (reconciler.functions' harness)."""

    def test_cloudfront(
        self, folder: Path, code: bytes, kvs_defaults: Mapping[str, str] | None
    ) -> SuiteResult: ...

    def test_lambda(
        self, folder: Path, package: LambdaPackage, config: Mapping[str, Any]
    ) -> SuiteResult: ...


TesterFactory = Callable[[], AbstractContextManager[FunctionTester]]


@dataclass(frozen=True)
class GateSettings:
    max_compute_utilization: int = DEFAULT_MAX_COMPUTE_UTILIZATION
    testfunction_events: int = TESTFUNCTION_EVENTS


def suite_problems(suite: SuiteResult) -> list[str]:
    problems = [f"static check {suite.folder.name}: {f}" for f in suite.findings]
    for outcome in suite.outcomes:
        if not outcome.passed:
            problems += [f"test event {outcome.name!r}: {p}" for p in outcome.problems]
    if not suite.findings and not suite.outcomes:
        problems.append(f"{suite.folder}: no test events (tests/*.json): nothing proves it works")
    return problems


def offline_gate(planned: Any, tester_factory: TesterFactory) -> None:
    """Runs the offline tests of every function the plan writes; raises FunctionTestFailed
    for the first that fails, before any write of the pass."""
    plan = planned.plan
    writes = {
        (c.address.kind, c.address.container)
        for c in plan.changes
        if c.action in (Action.CREATE, Action.UPDATE, Action.PUBLISH) and c.address.key is None
    }
    if not writes:
        return
    try:
        with tester_factory() as tester:
            _run_offline(planned, writes, tester)
    except HarnessError as exc:
        # A harness that cannot run proves nothing: nothing is published.
        name = next(iter(sorted(n for _, n in writes)))
        raise FunctionTestFailed(name, "", [f"the test harness could not run: {exc}"]) from exc


def _run_offline(planned: Any, writes: set[tuple[ResourceKind, str]], tester: FunctionTester) -> None:
    sources = planned.desired.sources
    for fn in planned.functions.cloudfront:
        if (ResourceKind.CLOUDFRONT_FUNCTION, fn.name) not in writes:
            continue
        store = sources.stores.get(fn.name)
        suite = tester.test_cloudfront(
            sources.folders[fn.name],
            fn.code,
            sources.store_entries.get(store) if store else None,
        )
        _judge(fn.name, short(fn.code_sha256) or "", suite)
    for lam in planned.functions.lambdas:
        if (ResourceKind.LAMBDA_FUNCTION, lam.name) not in writes:
            continue
        suite = tester.test_lambda(
            sources.folders[lam.name], sources.packages[lam.name], sources.lambda_configs[lam.name]
        )
        _judge(lam.name, lam.zip_sha256[:12], suite)


def _judge(name: str, code: str, suite: SuiteResult) -> None:
    problems = suite_problems(suite)
    if problems:
        raise FunctionTestFailed(name, code, problems)
    log.info("gate.passed", function=name, code=code, cases=len(suite.outcomes))


TestOnce = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def testfunction_gate(
    name: str, code: str, folder: Path, test_once: TestOnce, settings: GateSettings
) -> list[int]:
    """TestFunction on DEVELOPMENT with the first few test events; returns the compute
    figures that decided. Raises FunctionTestFailed."""
    cases = load_cases(folder)[: max(1, settings.testfunction_events)]
    problems: list[str] = []
    figures: list[int] = []
    for case in cases:
        result = test_once(case.event)
        error = result.get("FunctionErrorMessage") or ""
        if error:
            problems.append(f"TestFunction {case.name!r}: function error: {error}")
            continue
        readings = [int(result.get("ComputeUtilization") or 0)]
        if readings[0] > settings.max_compute_utilization:
            readings += [
                int(test_once(case.event).get("ComputeUtilization") or 0)
                for _ in range(COMPUTE_READINGS - 1)
            ]
        figure = int(statistics.median(readings))
        figures.append(figure)
        if figure > settings.max_compute_utilization:
            problems.append(
                f"TestFunction {case.name!r}: compute utilization {figure} (median of "
                f"{readings}) above {settings.max_compute_utilization}: throttling risk at the edge"
            )
    if problems:
        raise FunctionTestFailed(name, code, problems)
    return figures


class IsolatedDynamoDb:
    """A plain moto server in a child process: the test events' tables never share state
    with anything else (an in-process moto shares its backends with the sandbox's)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self, timeout: float = 30.0) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, **CREDENTIALS}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise HarnessError("the emulated DynamoDB for the test events did not start")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return self.endpoint
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise HarnessError("the emulated DynamoDB for the test events did not answer in time")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None


class _InterimTester:
    """Until reconciler.functions ships its one tester: the existing suites, checked to
    run the exact bytes being deployed."""

    def __enter__(self) -> _InterimTester:
        from reconciler.functions.cloudfront import CloudFrontFunctionRunner

        self._runner = CloudFrontFunctionRunner().__enter__()
        self._dynamodb: IsolatedDynamoDb | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        self._runner.close()
        if self._dynamodb is not None:
            self._dynamodb.stop()

    def test_cloudfront(
        self, folder: Path, code: bytes, kvs_defaults: Mapping[str, str] | None
    ) -> SuiteResult:
        from reconciler.functions.test_events import run_cloudfront_suite

        if (folder / "index.js").read_bytes() != code:
            raise FatalError(f"{folder}/index.js is not the code being published", "SourceMismatch")
        return run_cloudfront_suite(self._runner, folder, kvs_defaults)

    def test_lambda(
        self, folder: Path, package: LambdaPackage, config: Mapping[str, Any]
    ) -> SuiteResult:
        from reconciler.aws.clients import AwsTarget, make_client
        from reconciler.functions.dynamodb_seed import reset_table
        from reconciler.functions.test_events import run_lambda_suite

        if self._dynamodb is None:
            self._dynamodb = IsolatedDynamoDb()
            self._dynamodb.start()
        endpoint = self._dynamodb.endpoint
        client = make_client("dynamodb", AwsTarget(endpoint_url=endpoint, max_attempts=1))
        modules = folder / "node_modules"
        if not modules.exists():
            shipped = Path(__file__).resolve().parents[2] / "edge_functions/tenant_router/node_modules"
            if shipped.is_dir():
                modules.symlink_to(shipped, target_is_directory=True)
        def seed(cfg: Mapping[str, Any], items: list[dict[str, Any]]) -> None:
            if "tableName" in cfg:
                reset_table(client, cfg, items)

        return run_lambda_suite(folder, endpoint, seed, config)


def harness_tester() -> AbstractContextManager[FunctionTester]:
    return _InterimTester()
