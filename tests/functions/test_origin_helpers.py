"""The cloudfront module shim enforces the documented origin-helper rules (AWS_FACTS.md)."""

from __future__ import annotations

import json

import pytest

from reconciler.functions import CloudFrontFunctionRunner
from tests.functions.conftest import handler_calling, viewer_event


def call(runner: CloudFrontFunctionRunner, js: str, event_type: str = "viewer-request"):
    return runner.run(handler_calling(js), viewer_event(event_type=event_type), {})


def update(params: dict) -> str:
    return f"cf.updateRequestOrigin({json.dumps(params)});"


VALID_UPDATES = [
    {"domainName": "premium-api.example.com"},
    {"domainName": "a" * 241 + ".example.com"},  # exactly 253 characters
    {"domainName": "x.example.com", "originPath": "/v1"},
    {"domainName": "x.example.com", "originPath": "/v1/api"},
    {"originPath": "/only-path"},
    {"domainName": "x.example.com", "connectionAttempts": 1},
    {"domainName": "x.example.com", "connectionAttempts": 3},
    {
        "domainName": "x.example.com",
        "timeouts": {"readTimeout": 1, "keepAliveTimeout": 120, "connectionTimeout": 10},
    },
    {
        "domainName": "x.example.com",
        "timeouts": {"readTimeout": 120, "keepAliveTimeout": 1, "connectionTimeout": 1},
    },
    {"domainName": "x.example.com", "customHeaders": {"x-tier": "premium"}},
    {"domainName": "x.example.com", "originShield": {"enabled": True, "region": "us-east-1"}},
    {
        "domainName": "x.example.com",
        "customOriginConfig": {"port": 443, "protocol": "https", "sslProtocols": ["TLSv1.2"]},
    },
    {
        "domainName": "x.example.com",
        "originAccessControlConfig": {
            "enabled": True,
            "signingBehavior": "always",
            "signingProtocol": "sigv4",
            "originType": "s3",
        },
    },
]

INVALID_UPDATES = [
    ({"domainName": "x.example.com:8443"}, "must not contain"),
    ({"domainName": "2001:db8::1"}, "must not contain"),
    ({"domainName": "10.0.0.1"}, "IP address"),
    ({"domainName": "a" * 254}, "at most 253"),
    ({"domainName": ""}, "non-empty"),
    ({"domainName": 42}, "non-empty string"),
    ({"domainName": "x.example.com", "originPath": "v1"}, 'start with "/"'),
    ({"domainName": "x.example.com", "originPath": "/v1/"}, 'not end with "/"'),
    ({"domainName": "x.example.com", "originPath": "/"}, 'not end with "/"'),
    ({"domainName": "x.example.com", "connectionAttempts": 0}, "connectionAttempts"),
    ({"domainName": "x.example.com", "connectionAttempts": 4}, "connectionAttempts"),
    ({"domainName": "x.example.com", "connectionAttempts": 1.5}, "connectionAttempts"),
    ({"domainName": "x.example.com", "timeouts": {"readTimeout": 0}}, "readTimeout"),
    ({"domainName": "x.example.com", "timeouts": {"readTimeout": 121}}, "readTimeout"),
    ({"domainName": "x.example.com", "timeouts": {"keepAliveTimeout": 0}}, "keepAliveTimeout"),
    ({"domainName": "x.example.com", "timeouts": {"keepAliveTimeout": 121}}, "keepAliveTimeout"),
    ({"domainName": "x.example.com", "timeouts": {"connectionTimeout": 0}}, "connectionTimeout"),
    ({"domainName": "x.example.com", "timeouts": {"connectionTimeout": 11}}, "connectionTimeout"),
    (
        {"domainName": "x.example.com", "timeouts": {"readTimout": 5}},
        "unknown parameter timeouts.readTimout",
    ),
    ({"domainname": "x.example.com"}, "unknown parameter domainname"),
    ({"domainName": "x.example.com", "customOriginConfig": {"protocol": "ftp"}}, "protocol"),
]


@pytest.mark.parametrize("params", VALID_UPDATES, ids=lambda p: ",".join(p))
def test_update_request_origin_accepts_documented_values(cf_runner, params):
    result = call(cf_runner, update(params))
    assert result.error is None
    assert result.origin_changes == [{"helper": "updateRequestOrigin", "args": params}]


@pytest.mark.parametrize(("params", "message"), INVALID_UPDATES, ids=lambda v: str(v)[:40])
def test_update_request_origin_throws_on_bad_argument(cf_runner, params, message):
    result = call(cf_runner, update(params))
    assert result.error is not None
    assert result.error.startswith("TypeError: updateRequestOrigin:")
    assert message in result.error
    assert result.origin_changes == []
    assert result.output is None


def test_bad_argument_is_catchable_like_any_throw(cf_runner):
    result = call(
        cf_runner,
        "try { cf.updateRequestOrigin({domainName: '1.2.3.4'}); } catch (e) { console.log('caught'); }",
    )
    assert result.error is None
    assert result.logs == ["caught"]
    assert result.origin_changes == []


def test_update_request_origin_needs_an_object(cf_runner):
    result = call(cf_runner, "cf.updateRequestOrigin('x.example.com');")
    assert result.error and "expects an object" in result.error


@pytest.mark.parametrize("event_type", ["viewer-response"])
def test_origin_helpers_work_only_at_viewer_request(cf_runner, event_type):
    result = call(cf_runner, update({"domainName": "x.example.com"}), event_type=event_type)
    assert result.error and "only at viewer-request" in result.error


def test_select_request_origin_by_id(cf_runner):
    result = call(
        cf_runner,
        "cf.selectRequestOriginById('premium-origin', {originPath: '/v2', timeouts: {readTimeout: 30}});",
    )
    assert result.error is None
    assert result.origin_changes == [
        {
            "helper": "selectRequestOriginById",
            "args": {
                "originId": "premium-origin",
                "overrides": {"originPath": "/v2", "timeouts": {"readTimeout": 30}},
            },
        }
    ]


@pytest.mark.parametrize(
    ("js", "message"),
    [
        ("cf.selectRequestOriginById('');", "originId must be a non-empty string"),
        ("cf.selectRequestOriginById(7);", "originId must be a non-empty string"),
        ("cf.selectRequestOriginById('o', {originPath: 'x'});", 'start with "/"'),
        ("cf.selectRequestOriginById('o', {connectionAttempts: 9});", "connectionAttempts"),
        (
            "cf.selectRequestOriginById('o', {domainName: 'x.example.com'});",
            "unknown parameter domainName",
        ),
    ],
)
def test_select_request_origin_by_id_rejects(cf_runner, js, message):
    result = call(cf_runner, js)
    assert result.error and message in result.error
    assert result.origin_changes == []


def test_create_request_origin_group(cf_runner):
    params = {
        "originIds": ["primary", "secondary"],
        "failoverCriteria": {"statusCodes": [500, 503]},
        "selectionCriteria": "default",
    }
    result = call(cf_runner, f"cf.createRequestOriginGroup({json.dumps(params)});")
    assert result.error is None
    assert result.origin_changes == [{"helper": "createRequestOriginGroup", "args": params}]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"originIds": ["a"], "failoverCriteria": {"statusCodes": [500]}}, "exactly 2"),
        ({"originIds": ["a", "a"], "failoverCriteria": {"statusCodes": [500]}}, "must differ"),
        ({"originIds": ["a", "b"]}, "failoverCriteria"),
        ({"originIds": ["a", "b"], "failoverCriteria": {"statusCodes": []}}, "non-empty"),
        ({"originIds": ["a", "b"], "failoverCriteria": {"statusCodes": [418]}}, "statusCodes[0]"),
        (
            {
                "originIds": ["a", "b"],
                "failoverCriteria": {"statusCodes": [500]},
                "selectionCriteria": "fastest",
            },
            "selectionCriteria",
        ),
    ],
)
def test_create_request_origin_group_rejects(cf_runner, params, message):
    result = call(cf_runner, f"cf.createRequestOriginGroup({json.dumps(params)});")
    assert result.error and message in result.error


def test_recorded_change_is_a_copy(cf_runner):
    result = call(
        cf_runner,
        "var p = {domainName: 'a.example.com'}; cf.updateRequestOrigin(p); p.domainName = 'b.example.com';",
    )
    assert result.origin_changes[0]["args"] == {"domainName": "a.example.com"}
