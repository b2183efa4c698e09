"""The sandbox's face: start() returns a handle with everything a caller needs.

    from reconciler import sandbox

    with sandbox.start(seed=True) as aws:        # moto + extensions on a free port
        aws.endpoint_url                          # http://127.0.0.1:PORT
        aws.env                                   # what any AWS client needs (SDKs, CLI, Terraform)
        aws.hooks.inject("dynamodb", kind="throttle")
        aws.seeded.distribution_id               # when seeded

Starting needs Node and the harness's npm dependencies (TestFunction runs the function's
real code); without them start() raises SandboxStartError saying what to install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler import emulator

if TYPE_CHECKING:
    from reconciler.sandbox.hooks import WireHooks
    from reconciler.sandbox.seed import SeedResult
    from reconciler.sandbox.server import SandboxServer


@dataclass
class Sandbox:
    server: SandboxServer
    seeded: SeedResult | None = None

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def hooks(self) -> WireHooks:
        assert self.server.hooks is not None
        return self.server.hooks

    @property
    def client_url(self) -> str:
        """The endpoint as other clients should spell it: `localhost`, not 127.0.0.1.
        SDKs put the account id in front of the KeyValueStore host, and
        `123456789012.127.0.0.1` is no valid URL host for WHATWG URL parsers (Node's
        SDK refuses it) while `123456789012.localhost` is (the proxy resolves it)."""
        return self.endpoint_url.replace("//127.0.0.1:", "//localhost:", 1)

    @property
    def env(self) -> dict[str, str]:
        """The variables an AWS client needs: endpoint, the emulator's credentials and
        region, and HTTP_PROXY (the sandbox itself) so that SDKs that put the account id
        in front of the KeyValueStore host still reach it (docs/sandbox.md)."""
        return {
            "AWS_ENDPOINT_URL": self.client_url,
            "AWS_DEFAULT_REGION": emulator.REGION,
            "AWS_REGION": emulator.REGION,
            **emulator.CREDENTIALS,
            "HTTP_PROXY": self.client_url,
        }

    def process_env(self) -> dict[str, str]:
        """A complete environment for a client subprocess (nothing of the caller leaks in)."""
        return emulator.client_environment(self.client_url, proxy_url=self.client_url)

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(*, port: int = 0, host: str = "127.0.0.1", seed: bool = False) -> Sandbox:
    """Start a sandbox on host:port (0: a free port); `seed` creates what the walkthrough's
    console steps create (an IAM role, the distribution). Raises SandboxStartError."""
    from reconciler.sandbox.server import SandboxServer

    server = SandboxServer(host=host, port=port).start()
    handle = Sandbox(server)
    if seed:
        try:
            handle.seeded = _seed(handle.endpoint_url)
        except BaseException:
            server.stop()
            raise
    return handle


def _seed(endpoint_url: str) -> Any:
    from reconciler.aws.clients import AwsTarget
    from reconciler.sandbox.seed import seed

    return seed(AwsTarget(region=emulator.REGION, endpoint_url=endpoint_url))
