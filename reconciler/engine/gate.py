"""The test gate: nothing is published that failed its tests.

Two checks, both fatal when they fail (the pass stalls until the code changes):
- offline, before the pass writes anything at all: every function the plan writes runs
  its own test events in Node, against exactly the bytes being deployed (the CloudFront
  Function's code; the Lambda@Edge candidate package);
- on AWS, for a CloudFront Function, after its DEVELOPMENT stage is written and before it
  is published: TestFunction with a few of the same events, judged on function errors
  and compute utilization.

Compute utilization is noisy on AWS too (and in the sandbox, which measures one run on
a shared machine), and the noise only ever adds: a neighbour's work, a collector or
compiler thread, a cold cache make a run read higher, nothing makes the function's own
work read lower. So the lowest reading is the estimate of the function's cost: a reading
over the limit is taken again, up to five readings in all, until one is within the limit.
A function that is really over the limit reads over it every time and is refused; a
busy machine does not refuse a function that fits (CI read [100, 85, 100, 40, 40] for
the example tier-router, whose median is over the limit and whose cost is not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from reconciler.aws.errors import FatalError
from reconciler.core.functions import short
from reconciler.core.model import Action, ResourceKind
from reconciler.functions.lambda_edge import DEFAULT_TIMEOUT_MS as LAMBDA_TIMEOUT_MS
from reconciler.functions.node import HarnessError
from reconciler.functions.package_zip import LambdaPackage
from reconciler.functions.test_events import SuiteResult, load_cases
from reconciler.functions.tester import EdgeFunctionTester

log = structlog.get_logger("reconciler.gate")

DEFAULT_MAX_COMPUTE_UTILIZATION = 70  # AWS: above ~70 risks throttling
WALL_TIMEOUT_MS = 1000
TESTFUNCTION_EVENTS = 3
COMPUTE_READINGS = 5


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
        self,
        folder: Path,
        code: bytes,
        kvs_defaults: Mapping[str, str] | None,
        *,
        name: str | None = None,
        tests: Path | None = None,
    ) -> SuiteResult: ...

    def test_lambda(
        self,
        folder: Path,
        package: LambdaPackage,
        config: Mapping[str, Any],
        *,
        handler: str = "index.handler",
        name: str | None = None,
        timeout_ms: int = LAMBDA_TIMEOUT_MS,
        tests: Path | None = None,
    ) -> SuiteResult: ...


TesterFactory = Callable[[], AbstractContextManager[FunctionTester]]


@dataclass(frozen=True)
class GateSettings:
    max_compute_utilization: int = DEFAULT_MAX_COMPUTE_UTILIZATION
    testfunction_events: int = TESTFUNCTION_EVENTS


def suite_problems(suite: SuiteResult) -> list[str]:
    """Each problem names the event's file and case, with expected and actual."""
    problems = list(suite.problems)
    if not suite.findings and not suite.outcomes:
        problems.append(f"{suite.folder}: no test events (tests/*.json): nothing proves it works")
    return problems


def offline_gate(
    planned: Any, tester_factory: TesterFactory, passed: set[tuple[ResourceKind, str]]
) -> None:
    """Runs the offline tests of every function the plan writes; raises FunctionTestFailed
    for the first that fails, before any write of the pass.

    `passed` is the pass's memory of the functions whose candidate already passed: a
    conflict re-plan keeps the pass's desired state (the same bytes, test events, config),
    so its verdict stands and the suite (seconds of Node and DynamoDB for a Lambda) is not
    run again. Each function that passes is added to it."""
    plan = planned.plan
    writes = {
        (c.address.kind, c.address.container)
        for c in plan.changes
        if c.action in (Action.CREATE, Action.UPDATE, Action.PUBLISH) and c.address.key is None
    }
    for kind, name in sorted(writes & passed):
        log.info("gate.already_passed", function=name, kind=kind.value)
    writes -= passed
    if not writes:
        return
    try:
        with tester_factory() as tester:
            _run_offline(planned, writes, tester, passed)
    except HarnessError as exc:
        # A harness that cannot run proves nothing: nothing is published.
        name = next(iter(sorted(n for _, n in writes)))
        raise FunctionTestFailed(name, "", [f"the test harness could not run: {exc}"]) from exc


def _run_offline(
    planned: Any,
    writes: set[tuple[ResourceKind, str]],
    tester: FunctionTester,
    passed: set[tuple[ResourceKind, str]],
) -> None:
    desired = planned.desired
    sources = desired.sources
    route_set = desired.route_set
    for fn in planned.functions.cloudfront:
        if (ResourceKind.CLOUDFRONT_FUNCTION, fn.name) not in writes:
            continue
        store = sources.stores.get(fn.name)
        declared = route_set.cloudfront_functions[fn.name].spec.tests
        suite = tester.test_cloudfront(
            sources.folders[fn.name],
            fn.code,
            sources.store_entries.get(store) if store else None,
            name=fn.name,
            tests=route_set.path(declared) if declared else None,
        )
        _judge(fn.name, short(fn.code_sha256) or "", suite)
        passed.add((ResourceKind.CLOUDFRONT_FUNCTION, fn.name))
    for lam in planned.functions.lambdas:
        if (ResourceKind.LAMBDA_FUNCTION, lam.name) not in writes:
            continue
        declared = route_set.lambda_functions[lam.name].spec.tests
        suite = tester.test_lambda(
            sources.folders[lam.name],
            sources.packages[lam.name],
            sources.lambda_configs[lam.name],
            handler=lam.handler,
            name=lam.name,
            timeout_ms=lam.timeout * 1000,
            tests=route_set.path(declared) if declared else None,
        )
        _judge(lam.name, lam.zip_sha256[:12], suite)
        passed.add((ResourceKind.LAMBDA_FUNCTION, lam.name))


def _judge(name: str, code: str, suite: SuiteResult) -> None:
    problems = suite_problems(suite)
    if problems:
        raise FunctionTestFailed(name, code, problems)
    log.info("gate.passed", function=name, code=code, cases=len(suite.outcomes))


TestOnce = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def testfunction_gate(
    name: str,
    code: str,
    folder: Path,
    test_once: TestOnce,
    settings: GateSettings,
    tests: Path | None = None,
) -> list[int]:
    """TestFunction on DEVELOPMENT with the first few test events; returns the compute
    figures that decided. Raises FunctionTestFailed."""
    cases = load_cases(folder, tests)[: max(1, settings.testfunction_events)]
    problems: list[str] = []
    figures: list[int] = []
    for case in cases:
        result = test_once(case.event)
        error = result.get("FunctionErrorMessage") or ""
        if error:
            problems.append(f"TestFunction {case.name!r}: function error: {error}")
            continue
        readings = [int(result.get("ComputeUtilization") or 0)]
        while min(readings) > settings.max_compute_utilization and len(readings) < COMPUTE_READINGS:
            readings.append(int(test_once(case.event).get("ComputeUtilization") or 0))
        figure = min(readings)
        figures.append(figure)
        if figure > settings.max_compute_utilization:
            problems.append(
                f"TestFunction {case.name!r}: compute utilization {figure} (lowest of "
                f"{readings}) above {settings.max_compute_utilization}: throttling risk at the edge"
            )
    if problems:
        raise FunctionTestFailed(name, code, problems)
    return figures


def harness_tester() -> AbstractContextManager[FunctionTester]:
    """The project's one tester (reconciler/functions/tester.py). CloudFront Functions get
    a generous wall-clock timeout: it only stops runaway code, and a busy machine must not
    fail a correct function (AWS judges compute, which TestFunction reports)."""
    return EdgeFunctionTester(cloudfront_timeout_ms=WALL_TIMEOUT_MS)
