"""The emulated AWS's identity, defined once for every process that talks to it.

The sandbox (reconciler/sandbox), the Lambda@Edge harness (reconciler/functions) and the
CLI's composition roots all read these values; none keeps its own copy. The emulator
accepts any credentials: fixed dummy ones, set over whatever the shell has, guarantee that
a developer's real credentials are never sent by a process that talks to an emulator.
This module is pure constants (no moto, no boto3) so every layer may import it.
"""

from __future__ import annotations

import os
import tempfile

REGION = "us-east-1"
# The comment of the distribution the sandbox seeds like the walkthrough's console steps
# (reconciler/sandbox/seed.py); the local edge serves it by default.
DISTRIBUTION_COMMENT = "edge-routing-example"
ACCOUNT_ID = "123456789012"  # moto's default account
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def client_environment(
    endpoint_url: str | None = None, region: str = REGION, proxy_url: str | None = None
) -> dict[str, str]:
    """Variables that point an AWS client process (any SDK) at the emulator, built from
    scratch rather than copied: no profile, token or real endpoint of the caller leaks in.
    `proxy_url` (the sandbox itself) lets SDKs reach hosts they derive from the endpoint,
    such as the account-prefixed KeyValueStore host (docs/sandbox.md)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        **CREDENTIALS,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SDK_LOAD_CONFIG": "0",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if endpoint_url is not None:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    if proxy_url is not None:
        env["HTTP_PROXY"] = proxy_url
    return env
