"""The events the edge hands to functions, and what it does with their results (no I/O)."""

from __future__ import annotations

import base64

import pytest

from reconciler.edge import origin_lambda, viewer_function
from reconciler.edge.model import ForwardRequest, OriginTarget, ViewerRequest

CONTEXT = {"distribution_id": "E1", "distribution_domain": "d1.cloudfront.net", "request_id": "r1"}
ORIGIN = OriginTarget("basic-api", "basic-api.example.com")


def _viewer(
    query: str = "", headers: tuple[tuple[str, str], ...] = (), body: bytes = b""
) -> ViewerRequest:
    return ViewerRequest("GET", "/pets", query, headers, body, "198.51.100.7")


def test_viewer_event_follows_the_cloudfront_functions_structure() -> None:
    event = viewer_function.viewer_request_event(
        _viewer(
            "CTIER=premium&tag=a&tag=b%20c&flag",
            (
                ("Host", "d1.cloudfront.net"),
                ("X-Trace", "1"),
                ("X-Trace", "2"),
                ("Cookie", "s=1; t=2; s=3"),
            ),
        ),
        **CONTEXT,
    )
    assert event["version"] == "1.0"
    assert event["context"] == {
        "distributionDomainName": "d1.cloudfront.net",
        "distributionId": "E1",
        "eventType": "viewer-request",
        "requestId": "r1",
    }
    assert event["viewer"] == {"ip": "198.51.100.7"}
    request = event["request"]
    assert request["querystring"] == {
        "CTIER": {"value": "premium"},
        # repeated names: the first value, and every value in multiValue; not URL-decoded
        "tag": {"value": "a", "multiValue": [{"value": "a"}, {"value": "b%20c"}]},
        "flag": {"value": ""},
    }
    assert request["headers"] == {
        "host": {"value": "d1.cloudfront.net"},
        "x-trace": {"value": "1", "multiValue": [{"value": "1"}, {"value": "2"}]},
    }  # lowercase names; the Cookie header moves to cookies
    assert request["cookies"] == {
        "s": {"value": "1", "multiValue": [{"value": "1"}, {"value": "3"}]},
        "t": {"value": "2"},
    }


def test_a_returned_request_continues_with_its_changes() -> None:
    viewer = _viewer("a=1")
    output = {
        "method": "GET",
        "uri": "/v2/pets",
        "querystring": {
            "a": {"value": "1"},
            "b": {"value": "x", "multiValue": [{"value": "x"}, {"value": "y"}]},
        },
        "headers": {"x-added": {"value": "yes"}},
        "cookies": {"s": {"value": "1"}},
    }
    forward = viewer_function.forward_from_function(output, viewer)
    assert forward.uri == "/v2/pets"
    assert forward.query == "a=1&b=x&b=y"
    assert ("x-added", "yes") in forward.headers
    assert ("cookie", "s=1") in forward.headers


def test_a_returned_response_becomes_the_answer() -> None:
    response = viewer_function.response_from_function(
        {"statusCode": 302, "statusDescription": "Found", "headers": {"location": {"value": "/x"}}}
    )
    assert (response.status, response.reason) == (302, "Found")
    assert ("location", "/x") in response.headers


def test_an_output_that_is_neither_request_nor_response_is_invalid() -> None:
    with pytest.raises(viewer_function.FunctionResultInvalid):
        viewer_function.forward_from_function({"nothing": True}, _viewer())


def test_origin_helpers_change_the_origin_in_call_order() -> None:
    origins = {"premium-api": OriginTarget("premium-api", "premium-api.example.com")}
    changed = viewer_function.apply_origin_changes(
        ORIGIN,
        [
            {
                "helper": "updateRequestOrigin",
                "args": {"domainName": "gold.example.com", "originPath": "/v1"},
            },
            {
                "helper": "selectRequestOriginById",
                "args": {"originId": "premium-api", "overrides": {"originPath": "/p"}},
            },
        ],
        origins,
    )
    assert (changed.domain_name, changed.path) == ("premium-api.example.com", "/p")
    with pytest.raises(viewer_function.FunctionResultInvalid, match="no origin with id 'nope'"):
        viewer_function.apply_origin_changes(
            ORIGIN, [{"helper": "selectRequestOriginById", "args": {"originId": "nope"}}], origins
        )


def _forward(body: bytes) -> ForwardRequest:
    return ForwardRequest(
        "POST",
        "/tenant/orders",
        "x=1",
        (("Host", "viewer.example"), ("Content-Type", "application/json")),
        body,
    )


def _cf_request(event: dict) -> dict:  # type: ignore[type-arg]
    return event["Records"][0]["cf"]["request"]  # type: ignore[no-any-return]


def test_origin_request_event_carries_origin_and_body() -> None:
    event = origin_lambda.request_event(
        _forward(b'{"tenantId":"acme"}'),
        ORIGIN,
        event_type="origin-request",
        include_body=True,
        client_ip="198.51.100.7",
        **CONTEXT,
    )
    request = _cf_request(event)
    assert event["Records"][0]["cf"]["config"]["eventType"] == "origin-request"
    assert request["origin"]["custom"]["domainName"] == "basic-api.example.com"
    # CloudFront sets Host to the origin's domain (AllViewerExceptHostHeader).
    assert request["headers"]["host"] == [{"key": "Host", "value": "basic-api.example.com"}]
    assert request["headers"]["content-type"] == [
        {"key": "Content-Type", "value": "application/json"}
    ]
    assert request["querystring"] == "x=1"
    assert request["body"] == {
        "inputTruncated": False,
        "action": "read-only",
        "encoding": "base64",
        "data": base64.b64encode(b'{"tenantId":"acme"}').decode(),
    }


@pytest.mark.parametrize(
    ("event_type", "limit"), [("origin-request", 1024 * 1024), ("viewer-request", 40 * 1024)]
)
def test_a_body_over_the_limit_is_truncated_and_says_so(event_type: str, limit: int) -> None:
    body = b"x" * (limit + 1)
    event = origin_lambda.request_event(
        _forward(body),
        ORIGIN,
        event_type=event_type,
        include_body=True,
        client_ip="1.2.3.4",
        **CONTEXT,
    )
    sent = _cf_request(event)["body"]
    assert sent["inputTruncated"] is True
    assert base64.b64decode(sent["data"]) == body[:limit]
    exact = origin_lambda.request_event(
        _forward(body[:limit]),
        ORIGIN,
        event_type=event_type,
        include_body=True,
        client_ip="1.2.3.4",
        **CONTEXT,
    )
    assert _cf_request(exact)["body"]["inputTruncated"] is False


def test_no_body_and_no_origin_unless_configured() -> None:
    event = origin_lambda.request_event(
        _forward(b"{}"),
        ORIGIN,
        event_type="viewer-request",
        include_body=False,
        client_ip="1.2.3.4",
        **CONTEXT,
    )
    assert "body" not in _cf_request(event)
    assert "origin" not in _cf_request(event)  # request.origin exists at origin events only
    # At viewer-request the Host header is still the viewer's.
    assert _cf_request(event)["headers"]["host"] == [{"key": "Host", "value": "viewer.example"}]


def test_lambda_origin_and_host_changes_are_applied() -> None:
    before = _forward(b"{}")
    event = origin_lambda.request_event(
        before,
        ORIGIN,
        event_type="origin-request",
        include_body=True,
        client_ip="1.2.3.4",
        **CONTEXT,
    )
    output = _cf_request(event)
    output["origin"] = {"custom": {**output["origin"]["custom"], "domainName": "acme.example.com"}}
    output["headers"]["host"] = [{"key": "Host", "value": "acme.example.com"}]
    forward, origin = origin_lambda.forward_from_lambda(output, before, ORIGIN, "origin-request")
    assert origin.domain_name == "acme.example.com"
    assert forward.host == "acme.example.com"
    assert forward.body == b"{}"  # action read-only: the viewer's body goes on


def test_a_partial_lambda_origin_is_a_validation_error() -> None:
    before = _forward(b"{}")
    output = {"uri": "/", "headers": {}, "origin": {"custom": {"domainName": "acme.example.com"}}}
    with pytest.raises(origin_lambda.LambdaResultInvalid, match="missing"):
        origin_lambda.forward_from_lambda(output, before, ORIGIN, "origin-request")
