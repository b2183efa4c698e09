"""Configuration of `reconciler run`: flags override environment variables (prefix RECONCILER_).

One settings object is built at start, printed once (secrets redacted) and then passed
down; nothing below the CLI reads the environment for configuration.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """'300ms', '15s', '5m', '1h' or a bare number of seconds -> seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 300ms, 15s, 5m, 1h)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "reconciler"


class DaemonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECONCILER_", extra="forbid")

    # What to reconcile. With a git source, relative paths are inside the git work tree.
    routes_dir: Path = Path("routes")
    root: Path | None = None  # repository root (edge_functions/ lives here); default: routes_dir/..
    region: str = "us-east-1"
    endpoint_url: str | None = None  # an emulated AWS; None = real AWS
    allow_mass_delete: bool = False
    # ROOT/environments/<env>.yaml gives the route files' ${NAME} values (docs/route-files.md)
    env: str | None = None

    # How.
    dry_run: bool = False
    self_heal: bool = True
    resync_interval: Seconds = 300.0
    resync_jitter: float = Field(default=0.1, ge=0, le=1)  # +- share of the interval
    debounce: Seconds = 0.3  # quiet time after the last file event
    debounce_max: Seconds = 2.0  # a steady stream of events still gets a pass this often
    backoff_min: Seconds = 1.0
    backoff_max: Seconds = 300.0
    pass_timeout: Seconds = 1800.0  # a pass running longer makes /healthz fail (wedged)
    shutdown_timeout: Seconds = 120.0  # how long SIGTERM waits for the current pass

    # Where operators look.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    state_dir: Path = Field(default_factory=default_state_dir)  # holds the `suspend` flag file
    # POST /suspend, /resume, /reconcile need `Authorization: Bearer <token>`; without a
    # token they are refused. The value only from the environment (a flag would show in
    # `ps`), or a file (a mounted Secret, re-read when it changes).
    api_token: SecretStr | None = None
    api_token_file: Path | None = None
    # Push-triggered reconcile: POST /hook/github|gitlab|generic signed with this secret.
    webhook_secret: SecretStr | None = None
    webhook_secret_file: Path | None = None
    # Where notifications go (providers, and which events go to which): a YAML/JSON file.
    notifications_file: Path | None = None
    # A `pass.progress` log line this often while a pass runs (0: never).
    progress_interval: Seconds = 10.0

    # Built-in git source (instead of a git-sync sidecar).
    git_url: str | None = None
    git_branch: str = "main"
    git_interval: Seconds = 15.0
    git_dir: Path | None = None

    # Several replicas: only the holder of a DynamoDB lease runs passes (docs/daemon.md).
    leader_election: bool = False
    lease_table: str = Field(default="reconciler-leases", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    lease_name: str | None = None  # default: derived from what is reconciled (lease_key)
    lease_duration: Seconds = 15.0  # renewed every third; >> the clock skew between replicas

    # Embedded emulated AWS, seeded, for a laptop with no AWS account.
    sandbox: bool = False
    sandbox_port: int = Field(default=0, ge=0, le=65535)
    # With --sandbox: a local edge (CloudFront's request path over the emulated state) and
    # its origin backends on this port; unset: no edge.
    sandbox_edge_port: int | None = Field(default=None, ge=0, le=65535)

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _check(self) -> DaemonSettings:
        if self.debounce_max < self.debounce:
            raise ValueError("debounce_max must be >= debounce")
        if self.backoff_max < self.backoff_min:
            raise ValueError("backoff_max must be >= backoff_min")
        if self.git_url and self.git_dir is None:
            raise ValueError("git_url needs git_dir (where the work tree is kept)")
        if self.sandbox and self.endpoint_url:
            raise ValueError("sandbox and endpoint_url exclude each other")
        if self.api_token is not None and self.api_token_file is not None:
            raise ValueError("set api_token or api_token_file, not both")
        if self.webhook_secret is not None and self.webhook_secret_file is not None:
            raise ValueError("set webhook_secret or webhook_secret_file, not both")
        if self.lease_duration < 1:
            raise ValueError("lease_duration must be >= 1s (it is renewed every third)")
        return self

    @property
    def work_tree(self) -> Path | None:
        return self.git_dir if self.git_url else None

    @property
    def resolved_routes_dir(self) -> Path:
        """The routes dir as configured, made absolute, symlinks NOT resolved: a git-sync
        style `current -> rev` link must be followed anew on every pass."""
        base = self.work_tree or Path.cwd()
        return _absolute(self.routes_dir, base)

    @property
    def resolved_root(self) -> Path:
        if self.root is None:
            return self.work_tree or self.resolved_routes_dir.parent
        return _absolute(self.root, self.work_tree or Path.cwd())

    @property
    def lease_key(self) -> tuple[str, ...]:
        """What makes two replicas rivals: the same source of route files in the same
        region. The default lease name is derived from it; replicas that mount the routes
        at different paths must set RECONCILER_LEASE_NAME."""
        source = (
            (self.git_url or "", self.git_branch, str(self.routes_dir))
            if self.git_url
            else (str(self.resolved_routes_dir),)
        )
        return (self.region, self.endpoint_url or "aws", *source)

    @property
    def suspend_flag(self) -> Path:
        return self.state_dir / "suspend"

    @property
    def generated_token_file(self) -> Path:
        """With --sandbox and no token configured, the daemon writes one here (0600)
        and the client commands read it: a laptop demo works without configuring one."""
        return self.state_dir / "api-token"

    def redacted(self) -> dict[str, Any]:
        """Every setting, printable: credentials in URLs are masked."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                value = "***"
            if isinstance(value, Path):
                value = str(value)
            if isinstance(value, str):
                value = redact_url(value)
            out[key] = value
        return out


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:token|access_token|password|secret|signature|x-amz-signature|x-amz-security-token)=)[^&\s]+"
)


def redact_url(text: str) -> str:
    """https://user:token@host/x?token=abc -> https://***@host/x?token=***"""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    return _QUERY_SECRET.sub(r"\1***", text)


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base / path
