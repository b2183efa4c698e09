"""`run --sandbox`: the embedded emulated AWS, seeded, in this process."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import structlog

from reconciler.aws.clients import AwsTarget

log = structlog.get_logger("reconciler.daemon.sandbox")

# The emulated AWS accepts any credentials. Setting dummy ones (over whatever the shell
# has) guarantees that a developer's real credentials are never sent anywhere by a
# process that believes it talks to a sandbox.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
}


@dataclass
class Sandbox:
    server: Any  # reconciler.sandbox.server.SandboxServer (moto is imported lazily)
    target: AwsTarget
    distribution_id: str

    @property
    def endpoint_url(self) -> str:
        return str(self.server.endpoint_url)

    def stop(self) -> None:
        self.server.stop()


def start_sandbox(port: int, region: str) -> Sandbox:
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.pop("AWS_PROFILE", None)
    from reconciler.sandbox.seed import seed
    from reconciler.sandbox.server import SandboxServer

    # One plain-text access-log line per emulated AWS call would bury the daemon's own
    # (JSON) log; the sandbox's requests are visible in its /moto-api dashboard instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = SandboxServer(port=port, run_functions=True).start()
    target = AwsTarget(region=region, endpoint_url=server.endpoint_url)
    result = seed(target)
    log.info(
        "sandbox.started",
        endpoint_url=server.endpoint_url,
        distribution_id=result.distribution_id,
        seeded=list(result.created),
    )
    return Sandbox(server, target, result.distribution_id)
