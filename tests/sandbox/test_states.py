"""States AWS has, modelled in the sandbox and switchable per test (issue 17.6).

A KeyValueStore is PROVISIONING before READY; a Lambda function is Pending after
CreateFunction and InProgress after an update, and refuses writes meanwhile; a fault can
answer any error the service's model declares, with AWS's own message. Switches are set
through the hooks (Python) or /_sandbox/switches (HTTP); every test's reset restores them.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws.clients import AwsTarget
from reconciler.aws.kvs import KvsAdapter
from reconciler.sandbox.switches import NEVER
from tests.sandbox._clients import aws_cli, stock_boto3


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


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    error: Any = info.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


# -- KeyValueStore: PROVISIONING, then READY -------------------------------------------------


def test_a_new_store_is_provisioning_then_ready(aws: Any) -> None:
    cf = stock_boto3(aws.server, "cloudfront")
    assert _control(aws, "POST", "switches", {"kvs_provisioning_reads": 2})[0] == 200
    created = cf.create_key_value_store(Name="tiers")["KeyValueStore"]
    assert created["Status"] == "PROVISIONING"  # what CreateKeyValueStore answers on AWS
    reads = [cf.describe_key_value_store(Name="tiers")["KeyValueStore"]["Status"] for _ in range(3)]
    assert reads == ["PROVISIONING", "PROVISIONING", "READY"]
    aws.server.hooks.switches.update(kvs_provisioning_reads=5)
    assert cf.list_key_value_stores()["KeyValueStoreList"]["Items"][0]["Status"] == "READY"


def test_by_default_the_first_read_after_create_sees_ready(aws: Any) -> None:
    cf = stock_boto3(aws.server, "cloudfront")
    assert cf.create_key_value_store(Name="tiers")["KeyValueStore"]["Status"] == "PROVISIONING"
    code, described = aws_cli(
        aws.server, "cloudfront", "describe-key-value-store", "--name", "tiers"
    )
    assert code == 0 and described["KeyValueStore"]["Status"] == "READY"


def test_the_reconciler_s_store_creation_waits_for_ready(aws: Any) -> None:
    aws.server.hooks.switches.update(kvs_provisioning_reads=1)
    adapter = KvsAdapter(AwsTarget(endpoint_url=aws.endpoint_url), poll_seconds=0.05)
    arn = adapter.create("tiers", "c")
    adapter.wait_ready("tiers", timeout=30)
    assert arn.startswith("arn:aws:cloudfront::123456789012:key-value-store/")
    answers = [
        c["status"] for c in aws.server.hooks.log() if c["operation"] == "DescribeKeyValueStore"
    ]
    assert answers == [200, 200]  # one PROVISIONING read, then READY


# -- Lambda: Pending after create, InProgress after an update ----------------------------------


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", text)
    return buffer.getvalue()


def _function(aws: Any) -> Any:
    role = stock_boto3(aws.server, "iam").create_role(
        RoleName="edge",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    client = stock_boto3(aws.server, "lambda")
    created = client.create_function(
        FunctionName="router", Runtime="nodejs20.x", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip("export const handler = async () => 1;")},
    )  # fmt: skip
    return client, created


def test_a_function_is_pending_after_create_and_refuses_writes_meanwhile(aws: Any) -> None:
    aws.server.hooks.switches.update(lambda_update_reads=1)
    client, created = _function(aws)
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    with pytest.raises(ClientError) as refused:
        client.publish_version(FunctionName="router")
    assert _error(refused) == (
        "ResourceConflictException",
        409,
        "The operation cannot be performed at this time. The function is currently in the "
        "following state: Pending",
    )
    assert client.get_function_configuration(FunctionName="router")["State"] == "Pending"
    assert client.get_function_configuration(FunctionName="router")["State"] == "Active"
    assert client.publish_version(FunctionName="router")["Version"] == "1"


def test_an_update_is_in_progress_until_read_settled_and_blocks_a_publish(aws: Any) -> None:
    client, _ = _function(aws)
    client.get_waiter("function_active_v2").wait(FunctionName="router")
    aws.server.hooks.switches.update(lambda_update_reads=2)
    updated = client.update_function_code(
        FunctionName="router", ZipFile=_zip("export const handler = async () => 2;")
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    with pytest.raises(ClientError) as refused:
        client.publish_version(FunctionName="router")
    code, status, message = _error(refused)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message.startswith(
        "The operation cannot be performed at this time. An update is in progress"
    )
    # An independent client sees the same state.
    cli_code, cli = aws_cli(
        aws.server, "lambda", "get-function-configuration", "--function-name", "router"
    )
    assert cli_code == 0 and cli["LastUpdateStatus"] == "InProgress"
    client.get_waiter("function_updated_v2").wait(
        FunctionName="router", WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    assert client.publish_version(FunctionName="router")["Version"] == "1"


def test_an_update_that_never_settles(aws: Any) -> None:
    client, _ = _function(aws)
    client.get_function(FunctionName="router")  # read settled before the switch
    aws.server.hooks.switches.update(lambda_update_reads=NEVER)
    assert client.get_function(FunctionName="router")["Configuration"]["State"] == "Active"
    client.update_function_configuration(FunctionName="router", Timeout=5)
    for _ in range(3):
        status = client.get_function_configuration(FunctionName="router")["LastUpdateStatus"]
        assert status == "InProgress"
    aws.server.hooks.switches.update(lambda_update_reads=0)
    assert (
        client.get_function_configuration(FunctionName="router")["LastUpdateStatus"] == "Successful"
    )


# -- faults with AWS's own error and message ----------------------------------------------------


def test_a_fault_answers_any_modelled_error_with_the_given_message(aws: Any) -> None:
    client, _ = _function(aws)
    client.get_function(FunctionName="router")
    client.publish_version(FunctionName="router")
    message = (
        "Lambda was unable to delete arn:aws:lambda:us-east-1:123456789012:function:router:1 "
        "because it is a replicated function."
    )
    status, _ = _control(
        aws, "POST", "faults",
        {"service": "lambda", "operation": "DeleteFunction", "kind": "error",
         "code": "InvalidParameterValueException", "message": message, "where": "Qualifier=1"},
    )  # fmt: skip
    assert status == 201
    with pytest.raises(ClientError) as refused:
        client.delete_function(FunctionName="router", Qualifier="1")
    assert _error(refused) == ("InvalidParameterValueException", 400, message)
    code, cli = aws_cli(
        aws.server, "lambda", "delete-function", "--function-name", "router", "--qualifier", "1"
    )
    assert code != 0 and "replicated function" in cli


def test_a_fault_refuses_an_error_the_service_cannot_answer(aws: Any) -> None:
    with pytest.raises(ValueError, match="not an error of lambda's botocore model"):
        aws.server.hooks.inject("lambda", kind="error", code="NoSuchBucket")
    status, body = _control(
        aws, "POST", "faults", {"service": "cloudfront", "kind": "error", "code": "Made Up"}
    )
    assert status == 400 and "botocore model" in body["error"]
    status, body = _control(aws, "POST", "switches", {"no_such_switch": 1})
    assert status == 400 and "unknown switches" in body["error"]
