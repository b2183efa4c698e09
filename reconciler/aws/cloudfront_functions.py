"""CloudFront Functions adapter: observe both stages, create / update / test / publish by ETag.

Every write carries IfMatch. The ETag that matters is DEVELOPMENT's: UpdateFunction,
TestFunction and PublishFunction all act on DEVELOPMENT, and publishing with the LIVE
ETag fails once DEVELOPMENT has moved (the known trap). A stale ETag means someone else
wrote the function since we read it: that is a ConflictError (re-read, re-plan).

Nothing is published untested: the offline suite (Node harness, the function's own test
events with expectations) runs first, then TestFunction on DEVELOPMENT with a few of the
same events. A test that cannot run is logged as skipped, never counted as passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, error_code
from reconciler.core.functions import (
    CloudFrontFunctionConfig,
    CloudFrontFunctionStage,
    DesiredCloudFrontFunction,
    ObservedCloudFrontFunction,
    code_hash,
)
from reconciler.core.model import Action, Change, ResourceKind

log = structlog.get_logger("reconciler.functions")

DEVELOPMENT = "DEVELOPMENT"
LIVE = "LIVE"
DEFAULT_MAX_COMPUTE_UTILIZATION = 70  # AWS: above ~70 risks throttling
DEFAULT_TESTFUNCTION_EVENTS = 3
_NOT_FOUND = frozenset({"NoSuchFunctionExists", "EntityNotFound", "NoSuchResource"})
_STALE = frozenset({"PreconditionFailed", "InvalidIfMatchVersion"})
# What the emulator answers while no JavaScript engine is registered for TestFunction.
_NO_RUNNER_MARK = "no function runner registered"


class FunctionTestFailed(ReconcileError):
    """The function's tests failed: it is not published. Fixing the code is the only way on."""

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"cloudfront function {name}: tests failed, not published:\n  "
            + "\n  ".join(self.problems),
            ErrorClass.FATAL,
            "FunctionTestFailed",
        )


@dataclass(frozen=True)
class FunctionTests:
    """Where a function's tests live and how strict TestFunction is.

    folder: the function's source folder (index.js + tests/*.json, the harness format);
    None means no offline suite, which is logged as skipped.
    kvs_defaults: store entries for cases without their own `kvs` (the declared store).
    """

    folder: Path | None
    kvs_defaults: Mapping[str, str] | None = None
    testfunction_events: int = DEFAULT_TESTFUNCTION_EVENTS
    max_compute_utilization: int = DEFAULT_MAX_COMPUTE_UTILIZATION


@dataclass
class FunctionTestReport:
    offline: str = "not run"  # "passed (n cases)" | "skipped: why"
    testfunction: str = "not run"  # "passed (n events)" | "unavailable: why"
    compute_utilization: list[int] = field(default_factory=list)


@dataclass
class CloudFrontApplyResult:
    name: str
    writes: list[str] = field(default_factory=list)  # operation names, in order
    tests: FunctionTestReport | None = None
    development_etag: str | None = None
    published: bool = False


class CloudFrontFunctionsAdapter:
    def __init__(self, target: AwsTarget) -> None:
        self._cf = make_client("cloudfront", target)

    @property
    def client(self) -> Any:
        """The boto3 client (for event hooks such as call counting)."""
        return self._cf

    # -- observe -----------------------------------------------------------------------

    def observe(self, name: str) -> ObservedCloudFrontFunction:
        dev = self._stage(name, DEVELOPMENT)
        if dev is None:
            return ObservedCloudFrontFunction(name)
        stage, arn = dev
        live = self._stage(name, LIVE)  # absent before the first publish
        return ObservedCloudFrontFunction(name, stage, live[0] if live else None, arn)

    def _stage(self, name: str, stage: str) -> tuple[CloudFrontFunctionStage, str] | None:
        try:
            described = self._cf.describe_function(Name=name, Stage=stage)
            got = self._cf.get_function(Name=name, Stage=stage)
        except ClientError as exc:
            if error_code(exc) in _NOT_FOUND:
                return None
            raise
        # Config (Describe) and code (Get) come from two calls: a write in between would
        # pair one version's config with another's code.
        if described["ETag"] != got["ETag"]:
            raise ConflictError(f"cloudfront function {name} changed while it was read ({stage})")
        code = got["FunctionCode"].read()
        summary = described["FunctionSummary"]
        config = _config_from_wire(summary["FunctionConfig"])
        arn = str(summary["FunctionMetadata"]["FunctionARN"])
        return CloudFrontFunctionStage(code_hash(code), config, str(described["ETag"])), arn

    # -- writes ------------------------------------------------------------------------

    def create(self, fn: DesiredCloudFrontFunction) -> str:
        """CreateFunction; returns the DEVELOPMENT ETag."""
        resp = self._write(
            fn.name,
            self._cf.create_function,
            Name=fn.name,
            FunctionConfig=_config_to_wire(fn.config),
            FunctionCode=fn.code,
        )
        return self._etag_of(fn.name, resp)

    def update(self, fn: DesiredCloudFrontFunction, etag: str) -> str:
        """UpdateFunction on DEVELOPMENT with its ETag; returns the new DEVELOPMENT ETag."""
        resp = self._write(
            fn.name,
            self._cf.update_function,
            Name=fn.name,
            IfMatch=etag,
            FunctionConfig=_config_to_wire(fn.config),
            FunctionCode=fn.code,
        )
        return self._etag_of(fn.name, resp)

    def publish(self, name: str, development_etag: str) -> None:
        """PublishFunction: LIVE := DEVELOPMENT. Needs DEVELOPMENT's ETag, not LIVE's."""
        self._write(name, self._cf.publish_function, Name=name, IfMatch=development_etag)

    def _write(self, name: str, call: Any, **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except ClientError as exc:
            if error_code(exc) in _STALE:
                raise ConflictError(
                    f"cloudfront function {name} changed since it was read (stale ETag)",
                    error_code(exc),
                ) from exc
            if error_code(exc) == "FunctionAlreadyExists":
                # Absent when read: our own create whose answer was lost, or another writer.
                raise ConflictError(
                    f"cloudfront function {name} exists though it was absent when read; re-plan",
                    error_code(exc),
                ) from exc
            raise

    def _etag_of(self, name: str, resp: Mapping[str, Any]) -> str:
        # botocore's model reads UpdateFunction's ETag from a header named "ETtag"; when
        # that comes back empty, the real header or a fresh Describe has it.
        etag = resp.get("ETag") or resp["ResponseMetadata"]["HTTPHeaders"].get("etag")
        if not etag:
            etag = self._cf.describe_function(Name=name, Stage=DEVELOPMENT)["ETag"]
        return str(etag)

    # -- tests -------------------------------------------------------------------------

    def test(
        self, fn: DesiredCloudFrontFunction, development_etag: str, tests: FunctionTests
    ) -> FunctionTestReport:
        """Offline suite, then TestFunction on DEVELOPMENT; raises FunctionTestFailed."""
        report = FunctionTestReport()
        cases = _run_offline(fn, tests, report)
        self._run_testfunction(fn, development_etag, cases, tests, report)
        return report

    def _run_testfunction(
        self,
        fn: DesiredCloudFrontFunction,
        etag: str,
        events: Sequence[tuple[str, Mapping[str, Any]]],
        tests: FunctionTests,
        report: FunctionTestReport,
    ) -> None:
        if not events:
            report.testfunction = "skipped: no test events"
            log.warning("TestFunction skipped: no test events", function=fn.name)
            return
        problems: list[str] = []
        chosen = events[: max(1, tests.testfunction_events)]
        for case_name, event in chosen:
            result = self._test_once(fn.name, etag, event)
            if result is None:
                report.testfunction = "unavailable: no function runner in this environment"
                log.warning(
                    "TestFunction unavailable in this environment; only the offline tests gate "
                    "this publish",
                    function=fn.name,
                )
                return
            problems += _judge_testfunction(case_name, result, tests.max_compute_utilization)
            report.compute_utilization.append(int(result.get("ComputeUtilization") or 0))
        if problems:
            raise FunctionTestFailed(fn.name, problems)
        report.testfunction = f"passed ({len(chosen)} events)"

    def _test_once(self, name: str, etag: str, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """One TestFunction call; None when this environment cannot execute functions."""
        try:
            resp = self._cf.test_function(
                Name=name, IfMatch=etag, Stage=DEVELOPMENT, EventObject=json.dumps(event).encode()
            )
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if error_code(exc) == "NotImplemented" and _NO_RUNNER_MARK in message:
                return None
            if error_code(exc) in _STALE:
                raise ConflictError(
                    f"cloudfront function {name} changed before its test (stale ETag)",
                    error_code(exc),
                ) from exc
            raise
        return dict(resp["TestResult"])

    # -- the lifecycle of one function --------------------------------------------------

    def apply(
        self,
        fn: DesiredCloudFrontFunction,
        seen: ObservedCloudFrontFunction,
        changes: Sequence[Change],
        tests: FunctionTests,
    ) -> CloudFrontApplyResult:
        """Applies this function's planned changes: write DEVELOPMENT, test, publish.

        `changes` may be the whole plan; only this function's are used. Raises (and
        publishes nothing) when a test fails or an ETag is stale.
        """
        actions = {
            c.action
            for c in changes
            if c.address.kind is ResourceKind.CLOUDFRONT_FUNCTION and c.address.container == fn.name
        }
        result = CloudFrontApplyResult(fn.name)
        etag = seen.development.etag if seen.development else None
        if Action.CREATE in actions:
            etag = self.create(fn)
            result.writes.append("CreateFunction")
        elif Action.UPDATE in actions:
            etag = self.update(fn, _require(etag, fn.name))
            result.writes.append("UpdateFunction")
        result.development_etag = etag
        if Action.PUBLISH in actions:
            etag = _require(etag, fn.name)
            result.tests = self.test(fn, etag, tests)
            self.publish(fn.name, etag)
            result.writes.append("PublishFunction")
            result.published = True
            log.info("cloudfront function published", function=fn.name, code=fn.code_sha256[:12])
        return result


# -- offline suite (the Node harness in reconciler/functions) ----------------------------


def _run_offline(
    fn: DesiredCloudFrontFunction, tests: FunctionTests, report: FunctionTestReport
) -> list[tuple[str, Mapping[str, Any]]]:
    """Runs the harness suite; returns the cases' (name, event) for TestFunction."""
    if tests.folder is None:
        report.offline = "skipped: no source folder with tests given"
        log.warning("offline function tests skipped: no tests folder", function=fn.name)
        return []
    try:
        from reconciler.functions.cloudfront import CloudFrontFunctionRunner
        from reconciler.functions.node import HarnessError
        from reconciler.functions.test_events import load_cases, run_cloudfront_suite
    except ImportError as exc:  # the harness is an optional part of the install
        report.offline = f"skipped: offline harness not installed ({exc})"
        log.warning("offline function tests skipped: harness not installed", function=fn.name)
        return []
    source = tests.folder / "index.js"
    # The suite reads the code from the folder; it must be the code being published.
    on_disk = code_hash(source.read_bytes())
    if on_disk != fn.code_sha256:
        raise ReconcileError(
            f"cloudfront function {fn.name}: {source} is not the code being published "
            f"({on_disk[:12]} != {fn.code_sha256[:12]})",
            ErrorClass.FATAL,
            "SourceMismatch",
        )
    try:
        with CloudFrontFunctionRunner() as runner:
            suite = run_cloudfront_suite(runner, tests.folder, tests.kvs_defaults)
    except HarnessError as exc:
        # A harness that cannot run is not a passed suite: stop before publishing.
        raise FunctionTestFailed(fn.name, [f"offline harness failed: {exc}"]) from exc
    problems = [f"static {source}:{f}" for f in suite.findings]
    problems += [f"{o.name}: {p}" for o in suite.outcomes if not o.passed for p in o.problems]
    if problems:
        raise FunctionTestFailed(fn.name, problems)
    report.offline = f"passed ({len(suite.outcomes)} cases)"
    return [(c.name, c.event) for c in load_cases(tests.folder)]


def _judge_testfunction(name: str, result: Mapping[str, Any], max_util: int) -> list[str]:
    problems = []
    error = result.get("FunctionErrorMessage") or ""
    if error:
        problems.append(f"TestFunction {name}: function error: {error}")
    utilization = int(result.get("ComputeUtilization") or 0)
    if utilization > max_util:
        problems.append(
            f"TestFunction {name}: compute utilization {utilization} above {max_util} "
            "(throttling risk at the edge)"
        )
    return problems


# -- wire translation ----------------------------------------------------------------------


def _config_to_wire(config: CloudFrontFunctionConfig) -> dict[str, Any]:
    wire: dict[str, Any] = {"Comment": config.comment, "Runtime": config.runtime}
    if config.kvs_arn is not None:
        wire["KeyValueStoreAssociations"] = {
            "Quantity": 1,
            "Items": [{"KeyValueStoreARN": config.kvs_arn}],
        }
    return wire


def _config_from_wire(wire: Mapping[str, Any]) -> CloudFrontFunctionConfig:
    stores = (wire.get("KeyValueStoreAssociations") or {}).get("Items") or []
    return CloudFrontFunctionConfig(
        runtime=str(wire.get("Runtime", "")),
        comment=str(wire.get("Comment", "")),
        kvs_arn=str(stores[0]["KeyValueStoreARN"]) if stores else None,
    )


def _require(etag: str | None, name: str) -> str:
    if not etag:
        # The plan said the function exists but we hold no ETag: the plan is not for this state.
        raise ConflictError(f"cloudfront function {name}: no DEVELOPMENT ETag to write with")
    return etag
