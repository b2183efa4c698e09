"""The edge functions' own test events: loading, running, judging.

A function folder under edge_functions/ holds `tests/*.json`, one case per file:

    {"name": ..., "event": {...},
     "kvs": {key: value},              # CloudFront Function: the store for this case
     "kvsFault": "message",            # CloudFront Function: every KVS call rejects
     "items": [{...}],                 # Lambda@Edge: the DynamoDB items for this case
     "table": "name" | {"name", "partitionKey", "sortKey", "region"},
                                       # Lambda@Edge: the table `items` go to (default:
                                       # the config's tableName/partitionKey/sortKey)
     "dynamodb": "unreachable",        # Lambda@Edge: point the SDK at a closed port
     "expect": {"origin": {"domainName": ...} | null, "request": "unchanged" | {...},
                "response": {"statusCode": 403}, "hostHeader": ..., "logsContain": [...],
                "error": "substring"}}

A folder with index.js is a CloudFront Function, one with index.mjs a Lambda@Edge
function (handler index.handler).

Every problem of a failing case names the case's file and name and says what was expected
and what happened, e.g.
    tests/01-known.json "known tenant": hostHeader expected 'acme.example.com', got 'x.example.com'
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from reconciler.functions.cloudfront import CloudFrontFunctionRunner, Execution, Finding


class TestEventError(ValueError):
    """A test event file cannot be read (the message names the file)."""


class FunctionKind(Enum):
    CLOUDFRONT_FUNCTION = "cloudfront-function"
    LAMBDA_EDGE = "lambda-edge"


@dataclass(frozen=True)
class TestCase:
    name: str
    path: Path
    event: dict[str, Any]
    expect: dict[str, Any]
    kvs: dict[str, str] | None = None
    kvs_fault: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    dynamodb: str | None = None
    table: str | dict[str, Any] | None = None
    # How problems name the case: its file (relative to the function folder) and name.
    label: str = ""


@dataclass(frozen=True)
class TestOutcome:
    name: str
    passed: bool
    ms: float
    problems: list[str]
    execution: Execution | None = None


@dataclass(frozen=True)
class SuiteResult:
    function: str
    kind: FunctionKind
    folder: Path
    findings: list[Finding]
    outcomes: list[TestOutcome]
    source: str = "index.js"  # the file findings refer to, relative to folder

    @property
    def passed(self) -> bool:
        return not self.findings and all(o.passed for o in self.outcomes)

    @property
    def problems(self) -> list[str]:
        """Every reason the suite failed, one line each (empty when it passed)."""
        static = [f"{self.source}:{f}" for f in self.findings]
        return static + [p for o in self.outcomes if not o.passed for p in o.problems]


def discover(edge_functions: Path) -> list[tuple[FunctionKind, Path]]:
    if not edge_functions.is_dir():
        raise TestEventError(f"{edge_functions}: no such directory")
    found: list[tuple[FunctionKind, Path]] = []
    for folder in sorted(p for p in edge_functions.iterdir() if p.is_dir()):
        if (folder / "index.js").is_file():
            found.append((FunctionKind.CLOUDFRONT_FUNCTION, folder))
        elif (folder / "index.mjs").is_file():
            found.append((FunctionKind.LAMBDA_EDGE, folder))
    return found


_CASE_FIELDS = frozenset(
    {"name", "description", "event", "expect", "kvs", "kvsFault", "items", "table", "dynamodb"}
)


def _case(doc: Any, path: Path, where: str, label: str) -> TestCase:
    if not isinstance(doc, dict):
        raise TestEventError(f"{where}: a test event is one JSON object")
    unknown = set(doc) - _CASE_FIELDS
    if unknown or "event" not in doc or "expect" not in doc:
        raise TestEventError(f"{where}: needs event and expect; unknown fields {sorted(unknown)}")
    name = str(doc.get("name", path.stem))
    return TestCase(
        name=name,
        path=path,
        event=doc["event"],
        expect=doc["expect"],
        kvs=doc.get("kvs"),
        kvs_fault=doc.get("kvsFault"),
        items=doc.get("items", []),
        dynamodb=doc.get("dynamodb"),
        table=doc.get("table"),
        label=f"{label} {json.dumps(name)}",
    )


def _shown_path(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def load_cases(folder: Path, tests: Path | None = None) -> list[TestCase]:
    """The cases of `tests` (default folder/tests): a folder holds one case per *.json
    file, run in name order; a file holds one case or a JSON list of them."""
    location = tests if tests is not None else folder / "tests"
    files = sorted(location.glob("*.json")) if location.is_dir() else [location]
    if tests is not None and not location.exists():
        raise TestEventError(f"{location}: no such test file or folder")
    cases = []
    for path in files if location.exists() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TestEventError(f"{path}: {exc}") from exc
        shown = _shown_path(path, folder)
        if isinstance(doc, list) and location.is_file():
            cases += [_case(d, path, f"{path}[{i}]", f"{shown}[{i}]") for i, d in enumerate(doc)]
        else:
            cases.append(_case(doc, path, str(path), shown))
    return cases


def _input_request(kind: FunctionKind, event: Mapping[str, Any]) -> Any:
    if kind is FunctionKind.CLOUDFRONT_FUNCTION:
        return event.get("request")
    return event["Records"][0]["cf"]["request"]


def _shown(value: Any) -> str:
    return "nothing" if value is None else repr(value)


def _subset_problems(what: str, expected: Mapping[str, Any], actual: Any) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{what} expected {dict(expected)!r}, got {_shown(actual)}"]
    return [
        f"{what}.{key} expected {value!r}, got {_shown(actual.get(key))}"
        for key, value in expected.items()
        if actual.get(key) != value
    ]


def _host_header(kind: FunctionKind, output: Any) -> Any:
    headers = (output or {}).get("headers") if isinstance(output, dict) else None
    host = (headers or {}).get("host")
    if kind is FunctionKind.LAMBDA_EDGE:  # {host: [{key, value}, ...]}
        return host[0].get("value") if isinstance(host, list) and host else None
    return host.get("value") if isinstance(host, dict) else None


def judge(kind: FunctionKind, case: TestCase, execution: Execution) -> list[str]:
    """Every way `execution` differs from `case.expect`, as "what expected X, got Y"
    (empty: the case passed). TestOutcome.problems prefixes each with case.label."""
    expect = case.expect
    problems: list[str] = []
    if "error" in expect:
        if execution.error is None or expect["error"] not in execution.error:
            problems.append(
                f"error expected one containing {expect['error']!r}, got {_shown(execution.error)}"
            )
    elif execution.error is not None:
        return [f"the function failed: {execution.error}"]

    if "origin" in expect:
        wanted = expect["origin"]
        if wanted is None and execution.origin_changes:
            changed = execution.origin_changes[-1]["args"]
            problems.append(f"origin expected unchanged, got {changed!r}")
        elif wanted is not None:
            if not execution.origin_changes:
                problems.append(f"origin expected {wanted!r}, got the origin unchanged")
            else:
                args = execution.origin_changes[-1]["args"]
                actual = args.get("custom", args) if kind is FunctionKind.LAMBDA_EDGE else args
                problems += _subset_problems("origin", wanted, actual)

    before = _input_request(kind, case.event)
    request_expect = expect.get("request")
    if request_expect == "unchanged" or (
        kind is FunctionKind.LAMBDA_EDGE and expect.get("origin", 0) is None
    ):
        if execution.output != before:
            problems.append("request expected unchanged, got a modified request")
    elif isinstance(request_expect, dict):
        problems += _subset_problems("request", request_expect, execution.output)
    if "response" in expect:
        problems += _subset_problems("response", expect["response"], execution.output)
    if "hostHeader" in expect:
        host = _host_header(kind, execution.output)
        if host != expect["hostHeader"]:
            problems.append(f"hostHeader expected {expect['hostHeader']!r}, got {_shown(host)}")
    for needle in expect.get("logsContain", []):
        if not any(needle in line for line in execution.logs):
            problems.append(f"logsContain expected a line with {needle!r}, got {execution.logs!r}")
    return problems


def outcome(
    kind: FunctionKind, case: TestCase, execution: Execution | None, ms: float, failure: str = ""
) -> TestOutcome:
    """The judged case; `failure` (a harness error) fails it without an execution."""
    problems = [failure] if execution is None else judge(kind, case, execution)
    labelled = [f"{case.label}: {p}" for p in problems]
    return TestOutcome(case.name, not labelled, ms, labelled, execution)


def cloudfront_suite(
    runner: CloudFrontFunctionRunner,
    folder: Path,
    code: str,
    kvs_defaults: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    tests: Path | None = None,
) -> SuiteResult:
    """Static check of `code`, then every case of `tests` (default `folder`/tests) run
    against `code`.
    `kvs_defaults` are the entries declared for the function's store: a case's own
    `kvs` wins over them."""
    findings = runner.check(code)
    outcomes = []
    if not any(f.rule == "syntax" for f in findings):
        for case in load_cases(folder, tests):
            kvs = (
                case.kvs
                if case.kvs is not None
                else (dict(kvs_defaults) if kvs_defaults is not None else {})
            )
            started = time.perf_counter()
            execution = runner.run(code, case.event, kvs, kvs_fault=case.kvs_fault)
            ms = (time.perf_counter() - started) * 1000
            outcomes.append(outcome(FunctionKind.CLOUDFRONT_FUNCTION, case, execution, ms))
    return SuiteResult(
        name or folder.name, FunctionKind.CLOUDFRONT_FUNCTION, folder, findings, outcomes
    )


def run_cloudfront_suite(
    runner: CloudFrontFunctionRunner,
    folder: Path,
    kvs_defaults: Mapping[str, str] | None = None,
) -> SuiteResult:
    """cloudfront_suite over `folder`/index.js as it is on disk (prefer
    EdgeFunctionTester.test_cloudfront, which runs the bytes being published)."""
    code = (folder / "index.js").read_text(encoding="utf-8")
    return cloudfront_suite(runner, folder, code, kvs_defaults)


def closed_port_url() -> str:
    """An http URL nothing listens on (for the "DynamoDB unreachable" cases)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def default_lambda_config(folder: Path) -> dict[str, Any]:
    """A folder's config.example.json, or {} when it has none (an imported function)."""
    example = folder / "config.example.json"
    if not example.is_file():
        return {}
    try:
        loaded = json.loads(example.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise TestEventError(f"{example}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise TestEventError(f"{example}: a config is a JSON object")
    return loaded
