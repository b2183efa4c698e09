"""Wire hooks: call counts and faults, seen by stock boto3 clients over HTTP."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from reconciler.sandbox.hooks import kvs_race


def _control(aws: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{aws.endpoint_url}/_sandbox/{path}", data=data, method=method
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _table(ddb: Any, name: str = "t") -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _kvs_store(aws: Any) -> str:
    return str(aws.client("cloudfront").create_key_value_store(Name="s")["KeyValueStore"]["ARN"])


def test_calls_are_counted_per_service_and_operation(aws: Any) -> None:
    hooks = aws.server.hooks
    arn = _kvs_store(aws)
    kvs = aws.client("cloudfront-keyvaluestore")
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    etag = kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=[{"Key": "k", "Value": "v"}])["ETag"]
    kvs.list_keys(KvsARN=arn)  # same path as UpdateKeys, other method
    kvs.put_key(KvsARN=arn, Key="k2", Value="v", IfMatch=etag)
    kvs.get_key(KvsARN=arn, Key="k2")
    aws.client("dynamodb").list_tables()  # JSON protocol: X-Amz-Target
    aws.client("iam").list_roles()  # query protocol: Action in the body
    cf = aws.client("cloudfront")  # REST-XML: botocore's request URIs
    cf.list_distributions()
    with pytest.raises(ClientError):
        cf.get_distribution_config(Id="EMISSING")

    assert hooks.calls() == {
        "cloudfront": {
            "CreateKeyValueStore": 1,
            "GetDistributionConfig": 1,
            "ListDistributions": 1,
        },
        "cloudfront-keyvaluestore": {
            "DescribeKeyValueStore": 1,
            "GetKey": 1,
            "ListKeys": 1,
            "PutKey": 1,
            "UpdateKeys": 1,
        },
        "dynamodb": {"ListTables": 1},
        "iam": {"ListRoles": 1},
    }
    assert hooks.count("cloudfront-keyvaluestore") == 5
    assert _control(aws, "GET", "calls") == (200, {"calls": hooks.calls()})
    hooks.reset()
    assert hooks.calls() == {}


@pytest.mark.parametrize(
    ("service", "code", "status"),
    [
        # ListTables declares no ProvisionedThroughputExceededException: the common error.
        ("dynamodb", "ThrottlingException", 400),
        ("cloudfront", "Throttling", 400),
        ("cloudfront-keyvaluestore", "ThrottlingException", 429),
        ("lambda", "TooManyRequestsException", 429),
        ("iam", "Throttling", 400),
    ],
)
def test_throttles_use_each_services_error_shape(
    aws: Any, service: str, code: str, status: int
) -> None:
    calls = {
        "dynamodb": lambda: aws.client("dynamodb").list_tables(),
        "cloudfront": lambda: aws.client("cloudfront").list_distributions(),
        "cloudfront-keyvaluestore": lambda: aws.client(service).list_keys(KvsARN=arn),
        "lambda": lambda: aws.client("lambda").list_functions(),
        "iam": lambda: aws.client("iam").list_roles(),
    }
    arn = _kvs_store(aws)
    aws.server.hooks.inject(service, kind="throttle", count=1)
    with pytest.raises(ClientError) as exc:
        calls[service]()
    assert _error(exc) == (code, status)
    calls[service]()  # count=1: the next call goes through


def test_dynamodb_throttling_exception_code_can_be_chosen(aws: Any) -> None:
    aws.server.hooks.inject("dynamodb", "ListTables", kind="throttle", code="ThrottlingException")
    with pytest.raises(ClientError) as exc:
        aws.client("dynamodb").list_tables()
    assert _error(exc) == ("ThrottlingException", 400)


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("internal-error", "InternalServerError", 500), ("unavailable", "ServiceUnavailable", 503)],
)
def test_server_errors(aws: Any, kind: str, code: str, status: int) -> None:
    aws.server.hooks.inject("dynamodb", "ListTables", kind=kind)
    with pytest.raises(ClientError) as exc:
        aws.client("dynamodb").list_tables()
    assert _error(exc) == (code, status)


def test_standard_retry_mode_retries_injected_throttles(aws: Any, monkeypatch: Any) -> None:
    # botocore's backoff would make this test sleep seconds; what matters is that it
    # classifies the injected errors as retryable throttles, so record and skip the waits.
    from botocore.retries import standard

    waits: list[int] = []
    monkeypatch.setattr(
        standard.ExponentialBackoff,
        "delay_amount",
        lambda self, ctx: waits.append(ctx.attempt_number) or 0,
    )
    hooks = aws.server.hooks
    ddb = aws.client("dynamodb", max_attempts=10)
    _table(ddb)
    hooks.reset(seed=1234)
    fault = hooks.inject("dynamodb", "PutItem", kind="throttle", probability=0.3)
    retries = 0
    for i in range(30):
        retries += ddb.put_item(TableName="t", Item={"id": {"S": str(i)}})["ResponseMetadata"][
            "RetryAttempts"
        ]
    (state,) = [f for f in hooks.faults() if f["id"] == fault]
    assert state["fired"] > 0
    assert retries == state["fired"] == len(waits)
    assert hooks.count("dynamodb", "PutItem") == 30 + state["fired"]
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 30


def test_probability_faults_are_repeatable_with_a_seed(aws: Any) -> None:
    def pattern(seed: int) -> list[bool]:
        aws.server.hooks.reset()
        aws.server.hooks.inject(
            "dynamodb", "ListTables", kind="throttle", probability=0.5, seed=seed
        )
        ddb = aws.client("dynamodb")
        out = []
        for _ in range(20):
            try:
                ddb.list_tables()
                out.append(False)
            except ClientError:
                out.append(True)
        return out

    first = pattern(7)
    assert first == pattern(7)
    assert any(first) and not all(first)


def test_after_and_count_choose_which_calls_fail(aws: Any) -> None:
    aws.server.hooks.inject("dynamodb", "ListTables", kind="internal-error", after=1, count=2)
    ddb = aws.client("dynamodb")
    outcomes = []
    for _ in range(4):
        try:
            ddb.list_tables()
            outcomes.append("ok")
        except ClientError:
            outcomes.append("fail")
    assert outcomes == ["ok", "fail", "fail", "ok"]


def test_reset_really_drops_the_socket(aws: Any) -> None:
    aws.server.hooks.inject("dynamodb", kind="reset", count=1)
    netloc = urlsplit(aws.endpoint_url)
    with socket.create_connection((netloc.hostname, netloc.port), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/dynamodb/aws4_request, "
            b"SignedHeaders=host, Signature=x\r\nContent-Length: 2\r\n\r\n{}"
        )
        with pytest.raises(ConnectionResetError):
            if sock.recv(1024) == b"":
                raise AssertionError("closed with FIN, not reset")


def test_reset_is_a_connection_error_that_botocore_retries(aws: Any) -> None:
    aws.server.hooks.inject("dynamodb", "ListTables", kind="reset", count=1)
    with pytest.raises(ConnectionClosedError):
        aws.client("dynamodb").list_tables()
    aws.server.hooks.inject("dynamodb", "ListTables", kind="reset", count=1)
    response = aws.client("dynamodb", max_attempts=3).list_tables()
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_latency(aws: Any) -> None:
    aws.server.hooks.inject("dynamodb", "ListTables", kind="latency", delay=0.3, count=1)
    started = time.monotonic()
    aws.client("dynamodb").list_tables()
    assert time.monotonic() - started >= 0.3


def test_etag_race_makes_the_clients_ifmatch_stale(aws: Any) -> None:
    arn = _kvs_store(aws)
    kvs = aws.client("cloudfront-keyvaluestore")
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    aws.server.hooks.inject(
        "cloudfront-keyvaluestore",
        "UpdateKeys",
        kind="race",
        count=1,
        action=kvs_race({"other": "writer"}),
    )
    with pytest.raises(ClientError) as exc:
        kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=[{"Key": "mine", "Value": "v"}])
    assert _error(exc) == ("ConflictException", 409)
    fresh = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    kvs.update_keys(
        KvsARN=arn, IfMatch=fresh, Puts=[{"Key": "mine", "Value": "v"}]
    )  # re-read, retry
    assert {i["Key"] for i in kvs.list_keys(KvsARN=arn)["Items"]} == {"mine", "other"}


def test_race_action_can_be_any_callable(aws: Any) -> None:
    seen: list[str] = []
    aws.server.hooks.inject(
        "dynamodb", "ListTables", kind="race", action=lambda call: seen.append(call.operation)
    )
    aws.client("dynamodb").list_tables()
    assert seen == ["ListTables"]


def test_http_control_api(aws: Any) -> None:
    arn = _kvs_store(aws)
    kvs = aws.client("cloudfront-keyvaluestore")
    status, body = _control(
        aws,
        "POST",
        "faults",
        {"service": "cloudfront-keyvaluestore", "operation": "PutKey", "kind": "race", "count": 1,
         "race": {"kvs_puts": {"x": "y"}}},
    )  # fmt: skip
    assert status == 201
    race_id = body["id"]
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    with pytest.raises(ClientError) as exc:
        kvs.put_key(KvsARN=arn, Key="k", Value="v", IfMatch=etag)
    assert _error(exc) == ("ConflictException", 409)

    status, body = _control(aws, "GET", "faults")
    assert [(f["id"], f["fired"]) for f in body["faults"]] == [(race_id, 1)]
    assert (
        _control(aws, "POST", "faults", {"service": "dynamodb", "kind": "throttle", "bogus": 1})[0]
        == 400
    )
    assert _control(aws, "POST", "faults", {"service": "dynamodb", "kind": "nonsense"})[0] == 400
    _, body = _control(aws, "POST", "faults", {"service": "dynamodb", "kind": "throttle"})
    with pytest.raises(ClientError):
        aws.client("dynamodb").list_tables()
    assert _control(aws, "DELETE", f"faults/{body['id']}") == (200, {"removed": True})
    assert _control(aws, "DELETE", f"faults/{body['id']}")[0] == 404
    aws.client("dynamodb").list_tables()

    _, log = _control(aws, "GET", "log")
    assert {"service": "dynamodb", "operation": "ListTables", "status": 400} in [
        {k: e[k] for k in ("service", "operation", "status")} for e in log["log"]
    ]
    assert _control(aws, "POST", "reset", {}) == (200, {"reset": True})
    assert _control(aws, "GET", "calls") == (200, {"calls": {}})
    assert _control(aws, "GET", "faults") == (200, {"faults": []})
    assert _control(aws, "GET", "nowhere")[0] == 404


@pytest.mark.parametrize("service", ["cloudfront", "cloudfront-keyvaluestore", "lambda"])
def test_every_rest_route_of_botocores_model_maps_back_to_its_operation(service: str) -> None:
    import re

    import botocore.session

    from reconciler.sandbox import wire_model

    model = botocore.session.get_session().get_service_model(service)
    wrong = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        path = re.sub(r"\{[^}]+\}", "label", path)
        got = wire_model.operation_of(service, http["method"], path, query, None, b"", "")
        if got != name:
            wrong.append((name, got))
    assert wrong == []
