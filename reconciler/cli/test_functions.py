"""`reconciler test-functions`: static checks and every test event of every edge function,
offline (Node + an embedded emulated DynamoDB), one line per test."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from reconciler.functions.cloudfront import CloudFrontFunctionRunner
from reconciler.functions.node import HarnessError
from reconciler.functions.test_events import (
    FunctionKind,
    SuiteResult,
    TestEventError,
    discover,
    run_cloudfront_suite,
    run_lambda_suite,
)

_EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@contextlib.contextmanager
def _emulated_dynamodb(endpoint: str | None) -> Iterator[str]:
    """The given endpoint, or a local moto server for the run (DynamoDB needs no
    extension of moto, so the plain server is the faithful one here)."""
    if endpoint is not None:
        yield endpoint
        return
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise click.ClickException(
            "the Lambda@Edge tests need an emulated DynamoDB: install the 'sandbox' extra "
            "(pip install -e '.[sandbox]') or pass --dynamodb-endpoint"
        ) from exc
    # werkzeug logs every request to stderr; that is noise in a test report.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def _emulator_credentials() -> Iterator[None]:
    # Only this process's seeding client sees these, and only while it talks to the
    # emulator: a developer's real credentials are never sent anywhere.
    saved = {k: os.environ.get(k) for k in (*_EMULATOR_ENV, "AWS_PROFILE")}
    os.environ.update(_EMULATOR_ENV)
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _seeder(endpoint: str) -> Any:
    from reconciler.aws.clients import AwsTarget, make_client
    from reconciler.functions.dynamodb_seed import reset_table

    client = make_client("dynamodb", AwsTarget(endpoint_url=endpoint, max_attempts=1))

    def seed(config: Any, items: list[dict[str, Any]]) -> None:
        reset_table(client, config, items)

    return seed


def declared_store_entries(root: Path, routes: Path) -> dict[Path, dict[str, str]]:
    """Function folder -> the entries of the store its route file declares, so tier tests
    without their own `kvs` run against what will really be in the store."""
    from reconciler.routes import RouteSetInvalid, load_route_set

    if not routes.is_dir():
        return {}
    try:
        route_set = load_route_set(routes, root)
    except RouteSetInvalid as invalid:
        click.echo(
            f"warning: {routes} does not validate ({len(invalid.errors)} errors; run "
            "`reconciler validate`): tier tests run without the declared store entries",
            err=True,
        )
        return {}
    out: dict[Path, dict[str, str]] = {}
    for fn in route_set.cloudfront_functions.values():
        store = fn.spec.key_value_store
        if store and store in route_set.stores:
            folder = route_set.path(fn.spec.source).parent.resolve()
            out[folder] = dict(route_set.stores[store].spec.entries)
    return out


def run_all(
    root: Path, dynamodb_endpoint: str | None, store_entries: dict[Path, dict[str, str]] | None = None
) -> list[SuiteResult]:
    functions = discover(root / "edge_functions")
    results: list[SuiteResult] = []
    entries = store_entries or {}
    with CloudFrontFunctionRunner() as runner:
        for kind, folder in functions:
            if kind is FunctionKind.CLOUDFRONT_FUNCTION:
                defaults = entries.get(folder.resolve())
                results.append(run_cloudfront_suite(runner, folder, kvs_defaults=defaults))
    lambdas = [folder for kind, folder in functions if kind is FunctionKind.LAMBDA_EDGE]
    if lambdas:
        with _emulator_credentials(), _emulated_dynamodb(dynamodb_endpoint) as endpoint:
            seed = _seeder(endpoint)
            for folder in lambdas:
                results.append(run_lambda_suite(folder, endpoint, seed))
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
        lines.append(f"{r.function} ({r.kind.value})")
        source = r.folder / (
            "index.js" if r.kind is FunctionKind.CLOUDFRONT_FUNCTION else "index.mjs"
        )
        for f in r.findings:
            lines.append(f"  FAIL static  {source}:{f}")
        for o in r.outcomes:
            lines.append(f"  {'pass' if o.passed else 'FAIL'} {o.ms:8.2f} ms  {o.name}")
            lines.extend(f"      {p}" for p in o.problems)
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
    help="Repository root (holds edge_functions/).",
)
@click.option(
    "--routes",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Route files [default: ROOT/routes]: a CloudFront Function's declared store entries "
    "are the defaults for its test events.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--dynamodb-endpoint",
    default=None,
    metavar="URL",
    help="Emulated DynamoDB for the Lambda@Edge tests (default: an embedded one).",
)
def command(root: Path, routes: Path | None, fmt: str, dynamodb_endpoint: str | None) -> None:
    """Run the edge functions' static checks and test events offline in Node."""
    routes_dir = routes if routes is not None else root / "routes"
    try:
        results = run_all(root, dynamodb_endpoint, declared_store_entries(root, routes_dir))
    except (HarnessError, TestEventError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_as_json(results) if fmt == "json" else _as_text(results))
    if not all(r.passed for r in results):
        raise SystemExit(1)
