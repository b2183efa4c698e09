"""boto3 client construction: region, endpoint override (the sandbox), retry mode.

Against a custom endpoint the KeyValueStore data plane needs one fix: botocore's endpoint
rules put the account id from the store ARN in front of the host, also of a custom
endpoint (http://123456789012.127.0.0.1:5000 does not resolve). A before-send handler
strips that label again, so a stock client talks to the sandbox unchanged otherwise.
SigV4A signing still happens (before-send runs after signing), over the original host;
the sandbox does not verify signatures, so the rewritten host does not matter there, and
against real AWS (no endpoint_url) nothing is rewritten.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, overload
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # boto3-stubs (dev extra): typed clients for mypy, nothing at run time
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudfront_keyvaluestore import CloudFrontKeyValueStoreClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sts import STSClient

KVS_SERVICE: Final = "cloudfront-keyvaluestore"


@dataclass(frozen=True)
class AwsTarget:
    """Where the clients point: real AWS (endpoint_url None) or an emulated one."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    max_attempts: int = 8  # total attempts, the first included (1 = never retry)
    retry_mode: str = "standard"


@overload
def make_client(
    service: Literal["cloudfront"], target: AwsTarget, region: str | None = None
) -> CloudFrontClient: ...
@overload
def make_client(
    service: Literal["cloudfront-keyvaluestore"], target: AwsTarget, region: str | None = None
) -> CloudFrontKeyValueStoreClient: ...
@overload
def make_client(
    service: Literal["dynamodb"], target: AwsTarget, region: str | None = None
) -> DynamoDBClient: ...
@overload
def make_client(
    service: Literal["dynamodbstreams"], target: AwsTarget, region: str | None = None
) -> DynamoDBStreamsClient: ...
@overload
def make_client(
    service: Literal["iam"], target: AwsTarget, region: str | None = None
) -> IAMClient: ...
@overload
def make_client(
    service: Literal["lambda"], target: AwsTarget, region: str | None = None
) -> LambdaClient: ...
@overload
def make_client(
    service: Literal["sts"], target: AwsTarget, region: str | None = None
) -> STSClient: ...
def make_client(service: str, target: AwsTarget, region: str | None = None) -> Any:
    config = Config(
        # botocore's "max_attempts" key counts retries only; "total_max_attempts" counts
        # the first attempt too, which is what AwsTarget.max_attempts means.
        retries={"mode": target.retry_mode, "total_max_attempts": target.max_attempts},  # type: ignore[arg-type]
        connect_timeout=5,
        read_timeout=60,
    )
    session: Any = _session()  # typed per service by the overloads above
    client = session.client(
        service,
        region_name=region or target.region,
        endpoint_url=target.endpoint_url,
        config=config,
    )
    if service == KVS_SERVICE and target.endpoint_url:
        _install_kvs_host_rewrite(client, target.endpoint_url)
    return client


_local = threading.local()


def _session() -> boto3.session.Session:
    # A new Session re-reads botocore's data files (~80 ms a client); sessions are not
    # thread-safe, so one per thread. Credentials are resolved once per session.
    session: boto3.session.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = boto3.session.Session()
    return session


def _install_kvs_host_rewrite(client: Any, endpoint_url: str) -> None:
    wanted = urlsplit(endpoint_url)

    def rewrite(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc != wanted.netloc:
            request.url = urlunsplit(
                (wanted.scheme, wanted.netloc, parts.path, parts.query, parts.fragment)
            )

    client.meta.events.register(f"before-send.{KVS_SERVICE}", rewrite)


# botocore session variables as (config key, env var, default, converter): no env var,
# no config file, so AWS_PROFILE, AWS_CONFIG_FILE and friends of the caller are not read.
_ISOLATED_SESSION_VARS = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}


def emulator_client(service: str, endpoint_url: str, region: str) -> Any:
    """A client of an emulator that reads nothing from the shell: no profile, no config
    file, the emulator's dummy credentials (reconciler/emulator.py), one attempt."""
    import botocore.session

    from reconciler.emulator import CREDENTIALS

    session = botocore.session.Session(session_vars=_ISOLATED_SESSION_VARS)
    session.set_credentials(
        CREDENTIALS["AWS_ACCESS_KEY_ID"],
        CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        CREDENTIALS["AWS_SESSION_TOKEN"],
    )
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )
