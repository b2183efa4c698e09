"""The local edge against the emulated AWS: real passes, real functions in Node, real HTTP."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import structlog

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.edge import LocalEdge
from reconciler.edge.smoke import run_check, run_checks, seed_checks
from reconciler.engine.desired import desired_data
from reconciler.routes import load_route_set
from reconciler.sandbox.seed import ORIGINS, ROLE_NAME, TENANT_PATH, find_distribution_id
from tests.edge.conftest import reconcile

DEFAULT_ORIGIN = ORIGINS["basic-api"]


def _send(
    edge: LocalEdge, path: str, body: bytes | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(edge.url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _backend(edge: LocalEdge, path: str, body: dict[str, Any] | None = None) -> str:
    raw = json.dumps(body).encode() if body is not None else None
    status, _, answer = _send(edge, path, raw, "POST" if body is not None else "GET")
    assert status == 200, answer[:500]
    return str(json.loads(answer)["backend"])


# -- the walkthrough's tests after a real pass ----------------------------------------------


def test_smoke_checks_pass_after_a_reconcile_pass(
    repo: Path, reconciled: AwsTarget, edge: LocalEdge
) -> None:
    checks = seed_checks(desired_data(load_route_set(repo / "routes", repo)), DEFAULT_ORIGIN)
    results = run_checks(edge.url, checks)
    assert [r.line() for r in results if not r.ok] == []
    names = {r.check.name for r in results}
    assert {"tier basic", "tier standard", "tier premium", "unknown tenant"} <= names
    assert any(r.backend == "acme-backend.example.com" for r in results)  # a table-only backend


def test_cloudfront_headers_on_the_way_in_and_out(reconciled: AwsTarget, edge: LocalEdge) -> None:
    status, headers, body = _send(edge, "/pets?CTIER=premium")
    answer = json.loads(body)
    assert status == 200
    assert headers["X-Cache"] == "Miss from cloudfront"
    assert re.fullmatch(r"1\.1 \S+\.cloudfront\.net \(CloudFront\)", headers["Via"])
    assert len(headers["X-Amz-Cf-Id"]) == 56
    # The origin saw CloudFront's request: Host is the (function-chosen) origin's domain.
    assert answer["host"] == "premium-api.example.com"
    assert answer["headers"]["x-amz-cf-id"] == headers["X-Amz-Cf-Id"]
    assert answer["headers"]["via"] == headers["Via"]
    assert answer["query"] == "CTIER=premium"


def test_route_file_edits_show_after_the_next_pass(
    repo: Path, reconciled: AwsTarget, edge: LocalEdge
) -> None:
    acme = {"tenantId": "acme", "accountId": "1001"}
    assert _backend(edge, "/pets?CTIER=premium") == "premium-api.example.com"
    assert _backend(edge, "/tenant/orders", acme) == "acme-backend.example.com"

    tiers = repo / "routes" / "tiers.yaml"
    tiers.write_text(
        tiers.read_text().replace(
            "premium: premium-api.example.com", "premium: gold-api.example.com"
        )
    )
    tenants = repo / "routes" / "tenants" / "sample.jsonl"
    tenants.write_text(
        tenants.read_text().replace('"acme-backend.example.com"', '"acme-eu.example.com"')
    )
    reconcile(repo, reconciled)

    # Domains that only the new state mentions get a local backend on first use.
    assert _backend(edge, "/pets?CTIER=premium") == "gold-api.example.com"
    assert _backend(edge, "/tenant/orders", acme) == "acme-eu.example.com"


def test_an_origin_request_body_over_1_mb_is_truncated_for_the_lambda(
    reconciled: AwsTarget, edge: LocalEdge
) -> None:
    body = json.dumps(
        {"tenantId": "acme", "accountId": "1001", "pad": "x" * (1024 * 1024)}
    ).encode()
    with structlog.testing.capture_logs() as logs:
        status, _, answer = _send(edge, "/tenant/orders", body, "POST")
    assert status == 200
    echoed = json.loads(answer)
    # The function saw inputTruncated and fell back to the default origin ...
    assert echoed["backend"] == DEFAULT_ORIGIN
    ran = [e for e in logs if e["event"] == "edge.lambda_ran"]
    assert any('"reason":"body-truncated"' in line for line in ran[0]["function_logs"])
    # ... while the origin still receives the whole body (read-only action).
    assert echoed["bodyBytes"] == len(body)


# -- failures, with the status codes CloudFront gives -------------------------------------------


def _associate(target: AwsTarget, path: str, **associations: dict[str, Any]) -> None:
    cloudfront = make_client("cloudfront", target)
    distribution_id = find_distribution_id(cloudfront)
    reply = cloudfront.get_distribution_config(Id=distribution_id)
    config = reply["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]["Items"]]
    behaviour = next(b for b in behaviours if b.get("PathPattern", "default") == path)
    for key, items in associations.items():
        behaviour[key] = {"Quantity": len(items["Items"]), **items}
    cloudfront.update_distribution(
        Id=distribution_id, DistributionConfig=config, IfMatch=reply["ETag"]
    )


def _publish_viewer_function(target: AwsTarget, name: str, code: str) -> None:
    cloudfront = make_client("cloudfront", target)
    created = cloudfront.create_function(
        Name=name,
        FunctionConfig={"Comment": "test", "Runtime": "cloudfront-js-2.0"},
        FunctionCode=code.encode(),
    )
    cloudfront.publish_function(Name=name, IfMatch=created["ETag"])
    arn = created["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    _associate(
        target,
        "default",
        FunctionAssociations={"Items": [{"FunctionARN": arn, "EventType": "viewer-request"}]},
    )


def test_a_failing_cloudfront_function_gives_503_with_its_logs(
    seeded: AwsTarget, edge: LocalEdge
) -> None:
    code = "function handler(event) {\n  console.log('about to fail');\n  throw new Error('boom');\n}\n"
    _publish_viewer_function(seeded, "failing-router", code)
    with structlog.testing.capture_logs() as logs:
        status, headers, body = _send(edge, "/pets?CTIER=premium")
    assert status == 503
    assert (
        b"The CloudFront function associated with the CloudFront distribution is invalid or could not run."
        in body
    )
    assert headers["X-Cache"] == "Error from cloudfront"
    failure = next(e for e in logs if e["event"] == "edge.function_failed")
    assert failure["function"] == "failing-router"
    assert "boom" in failure["error"]
    assert failure["function_logs"] == ["about to fail"]


def test_an_origin_nothing_in_the_sandbox_mentions_is_a_502_naming_it(
    seeded: AwsTarget, edge: LocalEdge
) -> None:
    code = (
        "import cf from 'cloudfront';\n"
        "function handler(event) {\n"
        "  cf.updateRequestOrigin({domainName: 'elsewhere.example.org'});\n"
        "  return event.request;\n}\n"
    )
    _publish_viewer_function(seeded, "stray-router", code)
    status, headers, body = _send(edge, "/pets")
    assert status == 502
    assert "elsewhere.example.org" in headers["X-Local-Edge-Error"]
    assert b"elsewhere.example.org" in body


def _publish_lambda(target: AwsTarget, name: str, source: str) -> str:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.mjs", source)
    lam = make_client("lambda", target, "us-east-1")
    role = make_client("iam", target).get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    lam.create_function(
        FunctionName=name,
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": package.getvalue()},
        Timeout=5,
    )
    arn = str(lam.publish_version(FunctionName=name)["FunctionArn"])
    _associate(
        target,
        TENANT_PATH,
        LambdaFunctionAssociations={
            "Items": [
                {"LambdaFunctionARN": arn, "EventType": "origin-request", "IncludeBody": True}
            ]
        },
    )
    return arn


def test_a_throwing_lambda_gives_503_and_an_invalid_result_502(
    seeded: AwsTarget, edge: LocalEdge
) -> None:
    _publish_lambda(
        seeded,
        "throws",
        "export const handler = async () => { console.log('lookup'); throw new Error('table down'); };\n",
    )
    with structlog.testing.capture_logs() as logs:
        status, _, body = _send(edge, "/tenant/orders", b"{}", "POST")
    assert status == 503
    assert b"The Lambda function associated with the CloudFront distribution is invalid" in body
    failure = next(e for e in logs if e["event"] == "edge.lambda_failed")
    assert "table down" in failure["error"]
    assert failure["function_logs"] == ["lookup"]

    _publish_lambda(seeded, "invalid", "export const handler = async () => ({ nonsense: true });\n")
    status, _, body = _send(edge, "/tenant/orders", b"{}", "POST")
    assert status == 502
    assert b"The Lambda function result failed validation" in body


def test_a_method_the_behaviour_does_not_allow_is_refused(
    seeded: AwsTarget, edge: LocalEdge
) -> None:
    # Narrow the default behaviour to GET and HEAD (the console's default).
    from reconciler.aws.clients import make_client

    cf = make_client("cloudfront", seeded)
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    current = cf.get_distribution_config(Id=summary["Id"])
    config = current["DistributionConfig"]
    config["DefaultCacheBehavior"]["AllowedMethods"] = {
        "Quantity": 2,
        "Items": ["GET", "HEAD"],
        "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]},
    }
    cf.update_distribution(Id=summary["Id"], IfMatch=current["ETag"], DistributionConfig=config)
    # The fixture's edge reads the emulated AWS on every request (state_ttl=0).
    status, _, body = _send(edge, "/pets?CTIER=premium", b"{}", "POST")
    assert status == 403
    assert b"not configured to allow the HTTP request method" in body


def test_smoke_reports_a_wrong_backend(seeded: AwsTarget, edge: LocalEdge) -> None:
    from reconciler.edge.smoke import SmokeCheck

    result = run_check(
        edge.url, SmokeCheck("wrong", "GET", "/pets", None, "premium-api.example.com")
    )
    assert not result.ok
    assert result.line().startswith("FAIL wrong: GET /pets -> 200 from basic-api.example.com")


def test_lambda_containers_stay_warm_and_may_answer_themselves(
    seeded: AwsTarget, edge: LocalEdge
) -> None:
    # Module-level state survives between invocations of one container, as at the edge.
    _publish_lambda(
        seeded,
        "counter",
        "let calls = 0;\n"
        "export const handler = async () => ({ status: '200', statusDescription: 'OK',\n"
        "  headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] },\n"
        "  body: String(++calls) });\n",
    )
    first = _send(edge, "/tenant/orders", b"{}", "POST")
    second = _send(edge, "/tenant/orders", b"{}", "POST")
    assert (first[0], first[2], second[2]) == (200, b"1", b"2")
    assert first[1]["X-Cache"] == "LambdaGeneratedResponse from cloudfront"
