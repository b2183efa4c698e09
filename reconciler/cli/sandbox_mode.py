"""`run --sandbox`: the embedded emulated AWS, seeded, in this process.

Composition only: the sandbox's face (reconciler.sandbox.start) does the work; this
module sets the process up for it (the emulator's credentials over whatever the shell
has, quiet server logs) and hands the daemon an AwsTarget.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import click
import structlog

from reconciler import emulator
from reconciler.aws.clients import AwsTarget

log = structlog.get_logger("reconciler.sandbox")


def use_emulator_credentials() -> None:
    """The emulated AWS accepts any credentials. Setting its dummy ones over whatever the
    shell has guarantees that a developer's real credentials are never sent anywhere by
    a process that believes it talks to a sandbox."""
    os.environ.update(emulator.CREDENTIALS)
    os.environ.setdefault("AWS_DEFAULT_REGION", emulator.REGION)
    os.environ.pop("AWS_PROFILE", None)


@dataclass
class RunSandbox:
    handle: Any  # reconciler.sandbox.Sandbox (moto is imported lazily)
    target: AwsTarget
    distribution_id: str

    @property
    def endpoint_url(self) -> str:
        return str(self.handle.endpoint_url)

    def stop(self) -> None:
        self.handle.stop()


def start_seeded_sandbox(port: int = 0) -> Any:
    """A seeded reconciler.sandbox.Sandbox for this process; a start failure (no Node, the
    port taken) is a usage error with the reason, not a traceback."""
    use_emulator_credentials()
    from reconciler import sandbox

    try:
        return sandbox.start(port=port, seed=True)
    except sandbox.SandboxStartError as exc:
        raise click.ClickException(str(exc)) from exc


def start_sandbox(port: int, region: str) -> RunSandbox:
    handle = start_seeded_sandbox(port)
    log.info(
        "sandbox.started",
        endpoint_url=handle.endpoint_url,
        distribution_id=handle.seeded.distribution_id,
        seeded=list(handle.seeded.created),
    )
    target = AwsTarget(region=region, endpoint_url=handle.endpoint_url)
    return RunSandbox(handle, target, handle.seeded.distribution_id)
