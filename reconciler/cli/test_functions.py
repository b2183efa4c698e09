"""`reconciler test-functions`: static checks and every test event of every edge function,
offline (Node + an embedded emulated DynamoDB), one line per test.

It runs the same EdgeFunctionTester as the reconcile pass's publish gate, on the same
inputs: a function declared in the route files is tested as its document says (the
CloudFront Function's source file with its store's declared entries; the Lambda@Edge
package built with the declared config and handler); a function folder under
edge_functions/ that no document declares is tested with its config.example.json if it
has one, else with no config (an imported function has neither package.json nor example).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from reconciler.functions.cloudfront import Finding
from reconciler.functions.lambda_edge import DEFAULT_TIMEOUT_MS
from reconciler.functions.node import HarnessError
from reconciler.functions.package_zip import PackageError, build_package
from reconciler.functions.test_events import (
    FunctionKind,
    SuiteResult,
    TestEventError,
    default_lambda_config,
    discover,
)
from reconciler.functions.tester import EdgeFunctionTester


@dataclass(frozen=True)
class FunctionUnderTest:
    name: str
    kind: FunctionKind
    folder: Path
    source: Path  # the CloudFront Function's file; the Lambda@Edge package folder
    tests: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    handler: str = "index.handler"
    kvs_defaults: dict[str, str] | None = None
    timeout_ms: int = DEFAULT_TIMEOUT_MS


def _declared(root: Path, routes: Path) -> list[FunctionUnderTest]:
    from reconciler.routes import RouteSetInvalid, load_route_set

    if not routes.is_dir():
        return []
    try:
        route_set = load_route_set(routes, root)
    except RouteSetInvalid as invalid:
        click.echo(
            f"warning: {routes} does not validate ({len(invalid.errors)} errors; run "
            "`reconciler validate`): functions are tested without their documents",
            err=True,
        )
        return []
    out: list[FunctionUnderTest] = []
    for name, fn in sorted(route_set.cloudfront_functions.items()):
        source = route_set.path(fn.spec.source)
        store = fn.spec.key_value_store
        entries = (
            dict(route_set.stores[store].spec.entries) if store and store in route_set.stores else None
        )
        out.append(
            FunctionUnderTest(
                name,
                FunctionKind.CLOUDFRONT_FUNCTION,
                source.parent,
                source,
                tests=route_set.path(fn.spec.tests) if fn.spec.tests else None,
                kvs_defaults=entries,
            )
        )
    for name, ldoc in sorted(route_set.lambda_functions.items()):
        folder = route_set.path(ldoc.spec.source)
        out.append(
            FunctionUnderTest(
                name,
                FunctionKind.LAMBDA_EDGE,
                folder,
                folder,
                tests=route_set.path(ldoc.spec.tests) if ldoc.spec.tests else None,
                config=dict(ldoc.spec.config),
                handler=ldoc.spec.handler,
                timeout_ms=ldoc.spec.timeout * 1000,
            )
        )
    return out


def functions_under_test(root: Path, routes: Path) -> list[FunctionUnderTest]:
    """The declared functions, then the folders under edge_functions/ none declares."""
    declared = _declared(root, routes)
    seen = {f.folder.resolve() for f in declared}
    edge_functions = root / "edge_functions"
    found = discover(edge_functions) if edge_functions.is_dir() or not declared else []
    for kind, folder in found:
        if folder.resolve() in seen:
            continue
        if kind is FunctionKind.CLOUDFRONT_FUNCTION:
            declared.append(FunctionUnderTest(folder.name, kind, folder, folder / "index.js"))
        else:
            config = default_lambda_config(folder)
            declared.append(FunctionUnderTest(folder.name, kind, folder, folder, config=config))
    return declared


def run_all(functions: list[FunctionUnderTest], dynamodb_endpoint: str | None) -> list[SuiteResult]:
    results: list[SuiteResult] = []
    with EdgeFunctionTester(dynamodb_endpoint) as tester:
        for fn in functions:
            if fn.kind is FunctionKind.CLOUDFRONT_FUNCTION:
                results.append(
                    tester.test_cloudfront(
                        fn.folder,
                        fn.source.read_bytes(),
                        fn.kvs_defaults,
                        name=fn.name,
                        tests=fn.tests,
                    )
                )
                continue
            try:
                package = build_package(fn.source, fn.config)
            except PackageError as exc:
                finding = Finding("package", str(exc), 1, 1)
                results.append(SuiteResult(fn.name, fn.kind, fn.folder, [finding], []))
                continue
            results.append(
                tester.test_lambda(
                    fn.folder,
                    package,
                    fn.config,
                    handler=fn.handler,
                    name=fn.name,
                    timeout_ms=fn.timeout_ms,
                    tests=fn.tests,
                )
            )
    return results


def _as_json(results: list[SuiteResult]) -> str:
    return json.dumps(
        [
            {
                "function": r.function,
                "kind": r.kind.value,
                "passed": r.passed,
                "findings": [f.__dict__ for f in r.findings],
                "tests": [
                    {
                        "name": o.name,
                        "passed": o.passed,
                        "ms": round(o.ms, 3),
                        "problems": o.problems,
                    }
                    for o in r.outcomes
                ],
            }
            for r in results
        ],
        indent=2,
    )


def _as_text(results: list[SuiteResult]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.function} ({r.kind.value}, {r.folder})")
        for f in r.findings:
            lines.append(f"  FAIL static  {r.folder / r.source}:{f}")
        for o in r.outcomes:
            lines.append(f"  {'pass' if o.passed else 'FAIL'} {o.ms:8.2f} ms  {o.name}")
            lines.extend(f"      {p}" for p in o.problems)
        if not r.outcomes and not r.findings:
            lines.append("  (no test events)")
    total = sum(len(r.outcomes) for r in results)
    failed = sum(1 for r in results for o in r.outcomes if not o.passed)
    findings = sum(len(r.findings) for r in results)
    lines.append(f"{total - failed}/{total} tests passed, {findings} static findings")
    return "\n".join(lines)


@click.command(name="test-functions")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root (holds edge_functions/ and routes/).",
)
@click.option(
    "--routes",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Route files [default: ROOT/routes]: declared functions are tested as declared "
    "(source, config, handler, tests; a CloudFront Function's store entries are the "
    "defaults of its test events).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--dynamodb-endpoint",
    default=None,
    metavar="URL",
    help="Emulated DynamoDB for the Lambda@Edge tests (default: an embedded moto server). "
    "The tables the test events name are dropped and recreated there.",
)
def command(root: Path, routes: Path | None, fmt: str, dynamodb_endpoint: str | None) -> None:
    """Run the edge functions' static checks and test events offline in Node."""
    routes_dir = routes if routes is not None else root / "routes"
    try:
        functions = functions_under_test(root, routes_dir)
        results = run_all(functions, dynamodb_endpoint)
    except (HarnessError, TestEventError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_as_json(results) if fmt == "json" else _as_text(results))
    if not all(r.passed for r in results):
        raise SystemExit(1)
