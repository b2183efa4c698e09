"""Every client reaches and understands the sandbox the way it would AWS (issue 17).

Each test runs the same operations through stock boto3, the AWS CLI (its own vendored
botocore) and the AWS SDK for JavaScript v3 in Node, configured only as docs/sandbox.md
says: endpoint URL, the emulator's credentials, HTTP_PROXY = the sandbox. The table in
docs/sandbox.md lists exactly what these tests run.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import threading
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.sandbox._cf_support import (
    CACHING_OPTIMIZED,
    behaviour,
    create_function,
    distribution_config,
    function_associations,
)
from tests.sandbox._clients import aws_cli, handle, javascript, stock_boto3

DEFAULT_CERTIFICATE = {
    "CloudFrontDefaultCertificate": True,
    "MinimumProtocolVersion": "TLSv1",
    "CertificateSource": "cloudfront",
}


def _store(aws: Any) -> str:
    arn = stock_boto3(aws.server, "cloudfront").create_key_value_store(Name="tiers")
    return str(arn["KeyValueStore"]["ARN"])


# -- the KeyValueStore data plane: the host every SDK prefixes with the account id -------


def test_a_stock_client_without_the_proxy_cannot_even_connect(aws: Any) -> None:
    # Why the proxy exists: the SDK's endpoint rules make the host <account>.<endpoint host>.
    arn = _store(aws)
    direct = stock_boto3(aws.server, "cloudfront-keyvaluestore", proxies={})
    with pytest.raises(EndpointConnectionError, match=r"123456789012\.localhost"):
        direct.describe_key_value_store(KvsARN=arn)


def test_boto3_reaches_the_data_plane_through_the_proxy(aws: Any) -> None:
    arn = _store(aws)
    kvs = stock_boto3(aws.server, "cloudfront-keyvaluestore")
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    etag = kvs.put_key(KvsARN=arn, Key="premium", Value="premium-api.example.com", IfMatch=etag)[
        "ETag"
    ]
    assert [i["Key"] for i in kvs.list_keys(KvsARN=arn)["Items"]] == ["premium"]
    calls = [c for c in aws.server.hooks.log() if c["service"] == "cloudfront-keyvaluestore"]
    assert {c["signature"] for c in calls} == {"sigv4a"}  # signed as for AWS, over the proxy


def test_the_aws_cli_reaches_the_data_plane(aws: Any) -> None:
    arn = _store(aws)
    code, described = aws_cli(
        aws.server, "cloudfront-keyvaluestore", "describe-key-value-store", "--kvs-arn", arn
    )
    assert code == 0, described
    code, put = aws_cli(
        aws.server, "cloudfront-keyvaluestore", "put-key", "--kvs-arn", arn, "--key", "basic",
        "--value", "basic-api.example.com", "--if-match", described["ETag"],
    )  # fmt: skip
    assert code == 0, put
    code, listed = aws_cli(aws.server, "cloudfront-keyvaluestore", "list-keys", "--kvs-arn", arn)
    assert listed["Items"] == [{"Key": "basic", "Value": "basic-api.example.com"}]
    code, stale = aws_cli(
        aws.server, "cloudfront-keyvaluestore", "put-key", "--kvs-arn", arn, "--key", "x",
        "--value", "y", "--if-match", described["ETag"],
    )  # fmt: skip
    assert code != 0 and "(ConflictException)" in stale


def test_the_javascript_sdk_reaches_the_data_plane(aws: Any) -> None:
    result = javascript(aws.server, "kvs", arn=_store(aws))
    assert result["status"] == "READY"
    assert (
        result["keys"] == ["premium", "standard"] and result["premium"] == "premium-api.example.com"
    )
    assert (result["stale"]["error"], result["stale"]["status"]) == ("ConflictException", 409)


# -- the proxy itself ------------------------------------------------------------------


def _via_proxy(aws: Any, method: str, url: str) -> tuple[int, bytes]:
    proxy = urlsplit(aws.endpoint_url)
    connection = http.client.HTTPConnection(proxy.hostname or "", proxy.port, timeout=10)
    try:
        connection.request(method, url, headers={"Host": urlsplit(url).netloc or url})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def test_the_proxy_forwards_loopback_refuses_other_hosts_and_tunnels(aws: Any) -> None:
    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"echo {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    try:
        # A local edge or status port next to the sandbox keeps working with HTTP_PROXY set.
        port = echo.server_address[1]
        assert _via_proxy(aws, "GET", f"http://127.0.0.1:{port}/pets?x=1") == (
            200,
            b"echo /pets?x=1",
        )
    finally:
        echo.shutdown()
        echo.server_close()
    status, body = _via_proxy(aws, "GET", "http://example.com/")
    assert status == 502 and b"NO_PROXY" in body  # not an open proxy
    status, _ = _via_proxy(aws, "CONNECT", "cloudfront.amazonaws.com:443")
    assert status == 405


# -- the distribution config as every client reads it back (issue 17.1) ---------------


def _distribution(aws: Any) -> str:
    cf = stock_boto3(aws.server, "cloudfront")
    created = cf.create_distribution(DistributionConfig=distribution_config())
    return str(created["Distribution"]["Id"])


def test_every_client_reads_the_default_certificate_as_aws_returns_it(aws: Any) -> None:
    dist_id = _distribution(aws)
    config = stock_boto3(aws.server, "cloudfront").get_distribution_config(Id=dist_id)
    assert config["DistributionConfig"]["ViewerCertificate"] == DEFAULT_CERTIFICATE
    code, cli = aws_cli(aws.server, "cloudfront", "get-distribution-config", "--id", dist_id)
    assert code == 0 and cli["DistributionConfig"]["ViewerCertificate"] == DEFAULT_CERTIFICATE
    create_function(stock_boto3(aws.server, "cloudfront"))
    stock_boto3(aws.server, "cloudfront").publish_function(
        Name="tier-router",
        IfMatch=stock_boto3(aws.server, "cloudfront").describe_function(Name="tier-router")["ETag"],
    )
    js = javascript(aws.server, "reads", distributionId=dist_id, functionName="tier-router")
    assert js["viewerCertificate"] == DEFAULT_CERTIFICATE
    # The behaviour with a cache policy, field by field as AWS's documented example.
    assert js["defaultBehaviourKeys"] == sorted(
        ["TargetOriginId", "TrustedKeyGroups", "ViewerProtocolPolicy", "AllowedMethods",
         "Compress", "LambdaFunctionAssociations", "FunctionAssociations",
         "FieldLevelEncryptionId", "CachePolicyId", "GrpcConfig"]
    )  # fmt: skip


# -- function status (issue 17.2) ----------------------------------------------------------


def test_function_status_is_aws_s_in_every_state_for_every_client(aws: Any) -> None:
    cf = stock_boto3(aws.server, "cloudfront")
    aws.server.hooks.switches.update(distribution_deploy_reads=3)

    def status() -> str:
        return str(cf.describe_function(Name="tier-router")["FunctionSummary"]["Status"])

    etag = create_function(cf)
    assert status() == "UNPUBLISHED"
    arn = cf.publish_function(Name="tier-router", IfMatch=etag)["FunctionSummary"]
    assert arn["Status"] == "UNASSOCIATED" and status() == "UNASSOCIATED"
    config = distribution_config(
        DefaultCacheBehavior=behaviour(
            CachePolicyId=CACHING_OPTIMIZED,
            FunctionAssociations=function_associations(
                (arn["FunctionMetadata"]["FunctionARN"], "viewer-request")
            ),
        )
    )
    dist_id = cf.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    assert cf.get_distribution(Id=dist_id)["Distribution"]["Status"] == "InProgress"
    assert status() == "DEPLOYED"  # also while the distribution deploys (no other value documented)
    code, cli = aws_cli(
        aws.server, "cloudfront", "describe-function", "--name", "tier-router", "--stage", "LIVE"
    )
    assert code == 0 and cli["FunctionSummary"]["Status"] == "DEPLOYED"
    js = javascript(aws.server, "reads", distributionId=dist_id, functionName="tier-router")
    assert js["functionStatus"] == "DEPLOYED"


# -- errors parse the same everywhere --------------------------------------------------------


def test_a_stale_if_match_is_precondition_failed_412_for_every_client(aws: Any) -> None:
    dist_id = _distribution(aws)
    cf = stock_boto3(aws.server, "cloudfront")
    config = cf.get_distribution_config(Id=dist_id)["DistributionConfig"]
    with pytest.raises(ClientError) as boto:
        cf.update_distribution(Id=dist_id, IfMatch="E0000STALE", DistributionConfig=config)
    assert (
        boto.value.response["Error"]["Code"],
        boto.value.response["ResponseMetadata"]["HTTPStatusCode"],
    ) == (
        "PreconditionFailed",
        412,
    )
    js = javascript(aws.server, "errors", distributionId=dist_id)
    assert (js["stale"]["error"], js["stale"]["status"]) == ("PreconditionFailed", 412)


# -- GetFunction's package URL (issue 15.1) --------------------------------------------------


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", "export const handler = async () => ({status: '200'});\n")
    return buffer.getvalue()


def _lambda(aws: Any) -> tuple[str, bytes]:
    iam = stock_boto3(aws.server, "iam")
    role = iam.create_role(
        RoleName="edge",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    package = _zip()
    client = stock_boto3(aws.server, "lambda")
    client.create_function(
        FunctionName="tenant-router", Runtime="nodejs20.x", Role=role, Handler="index.handler",
        Code={"ZipFile": package}, Publish=True,
    )  # fmt: skip
    return "tenant-router", package


def _sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_every_client_downloads_the_package_from_code_location(aws: Any) -> None:
    name, package = _lambda(aws)
    got = stock_boto3(aws.server, "lambda").get_function(FunctionName=name, Qualifier="1")
    location = got["Code"]["Location"]
    assert got["Code"]["RepositoryType"] == "S3"
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=600" in location
    with urllib.request.urlopen(location) as reply:
        assert reply.read() == package
    code, cli = aws_cli(aws.server, "lambda", "get-function", "--function-name", name)
    assert code == 0
    with urllib.request.urlopen(cli["Code"]["Location"]) as reply:
        assert _sha(reply.read()) == cli["Configuration"]["CodeSha256"]
    js = javascript(aws.server, "lambdaCode", functionName=name, qualifier="1")
    assert js == {"httpStatus": 200, "shaMatches": True}
    assert ("s3", "GetObject") in {(c["service"], c["operation"]) for c in aws.server.hooks.log()}


def test_a_package_url_expires_and_checks_its_signature(aws: Any) -> None:
    name, _ = _lambda(aws)
    client = stock_boto3(aws.server, "lambda")
    location = client.get_function(FunctionName=name)["Code"]["Location"]
    tampered = location.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert (
        refused.value.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in refused.value.read()
    )
    aws.server.hooks.switches.update(lambda_code_url_seconds=0)  # AWS: "valid for up to 10 minutes"
    expired = client.get_function(FunctionName=name)["Code"]["Location"]
    with pytest.raises(urllib.error.HTTPError) as late:
        urllib.request.urlopen(expired)
    assert late.value.code == 403 and b"Request has expired" in late.value.read()


def test_the_handle_gives_any_client_what_it_needs(aws: Any) -> None:
    env = handle(aws.server).env
    assert (
        env["AWS_ENDPOINT_URL"]
        == env["HTTP_PROXY"]
        == aws.endpoint_url.replace("127.0.0.1", "localhost")
    )
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"} <= set(
        env
    )


def test_a_signed_url_for_a_package_nobody_registered_is_no_such_key(aws: Any) -> None:
    # Signed like the sandbox signs (its secret is in this process), for a key it never
    # handed out: S3's answer for a missing object.
    import time as clock

    from reconciler.sandbox.awslambda import code_location

    path = "/awslambda-us-east-1-tasks/snapshots/123456789012/nobody-0000"
    amz_date = clock.strftime("%Y%m%dT%H%M%SZ", clock.gmtime())
    signature = code_location._signature(path, amz_date, "600")
    url = f"{aws.endpoint_url}{path}?X-Amz-Date={amz_date}&X-Amz-Expires=600&X-Amz-Signature={signature}"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url)
    assert missing.value.code == 404 and b"<Code>NoSuchKey</Code>" in missing.value.read()
