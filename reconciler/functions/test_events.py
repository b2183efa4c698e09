"""The edge functions' own test events: loading, running, judging.

A function folder under edge_functions/ holds `tests/*.json`, one case per file:

    {"name": ..., "event": {...},
     "kvs": {key: value},              # CloudFront Function: the store for this case
     "kvsFault": "message",            # CloudFront Function: every KVS call rejects
     "items": [{...}],                 # Lambda@Edge: the DynamoDB items for this case
     "dynamodb": "unreachable",        # Lambda@Edge: point the SDK at a closed port
     "expect": {"origin": {"domainName": ...} | null, "request": "unchanged" | {...},
                "response": {"statusCode": 403}, "hostHeader": ..., "logsContain": [...],
                "error": "substring"}}

A folder with index.js is a CloudFront Function, one with index.mjs a Lambda@Edge
function (handler index.handler).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from reconciler.functions.cloudfront import CloudFrontFunctionRunner, Execution, Finding
from reconciler.functions.lambda_edge import run_lambda_edge


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

    @property
    def passed(self) -> bool:
        return not self.findings and all(o.passed for o in self.outcomes)


# Seeds the routing table for one Lambda@Edge case: (config, items) -> None.
TableSeeder = Callable[[Mapping[str, Any], list[dict[str, Any]]], None]


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


def load_cases(folder: Path) -> list[TestCase]:
    cases = []
    for path in sorted((folder / "tests").glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TestEventError(f"{path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise TestEventError(f"{path}: a test event file holds one JSON object")
        unknown = set(doc) - {
            "name",
            "description",
            "event",
            "expect",
            "kvs",
            "kvsFault",
            "items",
            "dynamodb",
        }
        if unknown or "event" not in doc or "expect" not in doc:
            raise TestEventError(
                f"{path}: needs event and expect; unknown fields {sorted(unknown)}"
            )
        cases.append(
            TestCase(
                name=doc.get("name", path.stem),
                path=path,
                event=doc["event"],
                expect=doc["expect"],
                kvs=doc.get("kvs"),
                kvs_fault=doc.get("kvsFault"),
                items=doc.get("items", []),
                dynamodb=doc.get("dynamodb"),
            )
        )
    return cases


def _input_request(kind: FunctionKind, event: Mapping[str, Any]) -> Any:
    if kind is FunctionKind.CLOUDFRONT_FUNCTION:
        return event.get("request")
    return event["Records"][0]["cf"]["request"]


def _subset_problems(what: str, expected: Mapping[str, Any], actual: Any) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{what}: expected {expected}, got {actual!r}"]
    return [
        f"{what}.{key}: expected {value!r}, got {actual.get(key)!r}"
        for key, value in expected.items()
        if actual.get(key) != value
    ]


def judge(kind: FunctionKind, case: TestCase, execution: Execution) -> list[str]:
    """Every way `execution` differs from `case.expect` (empty: the case passed)."""
    expect = case.expect
    problems: list[str] = []
    if "error" in expect:
        if execution.error is None or expect["error"] not in execution.error:
            problems.append(
                f"error: expected one containing {expect['error']!r}, got {execution.error!r}"
            )
    elif execution.error is not None:
        return [f"function failed: {execution.error}"]

    if "origin" in expect:
        wanted = expect["origin"]
        if wanted is None and execution.origin_changes:
            problems.append(f"origin: expected unchanged, got {execution.origin_changes[-1]}")
        elif wanted is not None:
            if not execution.origin_changes:
                problems.append(f"origin: expected {wanted}, origin unchanged")
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
            problems.append("request: expected unchanged, the function modified it")
    elif isinstance(request_expect, dict):
        problems += _subset_problems("request", request_expect, execution.output)
    if "response" in expect:
        problems += _subset_problems("response", expect["response"], execution.output)
    if "hostHeader" in expect:
        host = ((execution.output or {}).get("headers") or {}).get("host") or [{}]
        if host[0].get("value") != expect["hostHeader"]:
            problems.append(f"host header: expected {expect['hostHeader']!r}, got {host!r}")
    for needle in expect.get("logsContain", []):
        if not any(needle in line for line in execution.logs):
            problems.append(f"logs: no line contains {needle!r}; logs were {execution.logs}")
    return problems


def run_cloudfront_suite(
    runner: CloudFrontFunctionRunner,
    folder: Path,
    kvs_defaults: Mapping[str, str] | None = None,
) -> SuiteResult:
    """Static check, then every case. `kvs_defaults` is the seam for the store entries
    declared in the route files: a case's own `kvs` wins over them."""
    code = (folder / "index.js").read_text(encoding="utf-8")
    findings = runner.check(code)
    outcomes = []
    if not any(f.rule == "syntax" for f in findings):
        for case in load_cases(folder):
            kvs = (
                case.kvs
                if case.kvs is not None
                else (dict(kvs_defaults) if kvs_defaults is not None else {})
            )
            started = time.perf_counter()
            execution = runner.run(code, case.event, kvs, kvs_fault=case.kvs_fault)
            ms = (time.perf_counter() - started) * 1000
            problems = judge(FunctionKind.CLOUDFRONT_FUNCTION, case, execution)
            outcomes.append(TestOutcome(case.name, not problems, ms, problems, execution))
    return SuiteResult(folder.name, FunctionKind.CLOUDFRONT_FUNCTION, folder, findings, outcomes)


def closed_port_url() -> str:
    """An http URL nothing listens on (for the "DynamoDB unreachable" cases)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def default_lambda_config(folder: Path) -> dict[str, Any]:
    """Tests run with the shipped example config (the real one is written at deploy)."""
    return dict(json.loads((folder / "config.example.json").read_text(encoding="utf-8")))


def run_lambda_suite(
    folder: Path,
    dynamodb_endpoint: str,
    seed: TableSeeder,
    config: Mapping[str, Any] | None = None,
) -> SuiteResult:
    config = dict(config) if config is not None else default_lambda_config(folder)
    outcomes = []
    for case in load_cases(folder):
        seed(config, case.items)
        endpoint = closed_port_url() if case.dynamodb == "unreachable" else dynamodb_endpoint
        started = time.perf_counter()
        execution = run_lambda_edge(folder, case.event, config, endpoint)
        ms = (time.perf_counter() - started) * 1000
        problems = judge(FunctionKind.LAMBDA_EDGE, case, execution)
        outcomes.append(TestOutcome(case.name, not problems, ms, problems, execution))
    return SuiteResult(folder.name, FunctionKind.LAMBDA_EDGE, folder, [], outcomes)
