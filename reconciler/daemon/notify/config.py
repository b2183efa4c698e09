"""The notifications file (`RECONCILER_NOTIFICATIONS_FILE`): providers, and which events
go to which (Flux's Provider and Alert). YAML or JSON; validated whole at start, every
problem reported as `file:line:col: field: message`, like the route files.

    providers:
      - {name: chat, type: slack, urlFile: /secrets/slack-url}
      - {name: audit, type: webhook, url: https://audit.example.com/hook, secretFile: /secrets/hmac}
      - {name: commits, type: github, repository: org/edge-routes, tokenFile: /secrets/gh}
    alerts:
      - {providers: [chat], events: [failed, stalled, gate_rejected, drift_corrected, recovered]}
      - {providers: [commits], events: [applied, failed, stalled, gate_rejected, recovered]}
    delivery: {attempts: 4, minBackoff: 1s, maxBackoff: 30s, timeout: 10s, queueSize: 100}

Secrets (a Slack webhook URL, a GitHub token, an HMAC key) come from a file
(`urlFile`, `tokenFile`, `secretFile`) or an environment variable (`urlEnv`, ...); they
may be written inline too, but then the file itself is a secret.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reconciler.daemon.notify.events import EventType
from reconciler.routes.errors import ErrorSink
from reconciler.routes.yaml_reader import format_path, read_yaml_documents
from reconciler.settings import parse_duration

MAX_FILE_BYTES = 1024 * 1024
GITHUB_EVENTS = frozenset(
    {
        EventType.APPLIED,
        EventType.RECOVERED,
        EventType.FAILED,
        EventType.STALLED,
        EventType.GATE_REJECTED,
    }
)


class NotificationConfigError(ValueError):
    """The notifications file cannot be used; the message lists every problem."""


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _secret_field(
    data: dict[str, Any], name: str, required: bool, loc: str
) -> str | None:
    """Exactly one of `name`, `nameFile`, `nameEnv`; the value read now."""
    given = [k for k in (name, f"{name}File", f"{name}Env") if data.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f"set one of {name}, {name}File, {name}Env (got {', '.join(given)})")
    if not given:
        if required:
            raise ValueError(f"{name}, {name}File or {name}Env is required")
        return None
    key = given[0]
    value = str(data[key])
    if key.endswith("File"):
        try:
            text = Path(value).read_text().strip()
        except OSError as exc:
            raise ValueError(f"{key}: cannot read {value}: {exc.strerror}") from exc
        if not text:
            raise ValueError(f"{key}: {value} is empty")
        return text
    if key.endswith("Env"):
        env = os.environ.get(value, "").strip()
        if not env:
            raise ValueError(f"{key}: the environment variable {value} is not set")
        return env
    return value


class Provider(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    type: Literal["webhook", "slack", "github"]
    # Resolved secrets (from url/urlFile/urlEnv, ...); never printed.
    url: str | None = Field(default=None, repr=False)
    token: str | None = Field(default=None, repr=False)
    secret: str | None = Field(default=None, repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    # slack
    channel: str | None = None
    username: str | None = None
    # github
    repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    api_url: str = Field(default="https://api.github.com", alias="apiUrl")
    context: str = "edge-routing-reconciler"
    target_url: str | None = Field(default=None, alias="targetUrl")

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kind = data.get("type")
        resolved = {
            "url": _secret_field(data, "url", kind in ("webhook", "slack"), "url"),
            "token": _secret_field(data, "token", kind == "github", "token"),
            "secret": _secret_field(data, "secret", False, "secret"),
        }
        for name in ("url", "token", "secret"):
            data.pop(f"{name}File", None)
            data.pop(f"{name}Env", None)
            data[name] = resolved[name]
        return data

    @field_validator("url", "api_url", "target_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")  # the value itself may be a secret
        return value

    @model_validator(mode="after")
    def _by_type(self) -> Provider:
        if self.type == "github" and self.repository is None:
            raise ValueError("a github provider needs repository: OWNER/NAME")
        if self.type != "github" and self.repository is not None:
            raise ValueError(f"repository is for github providers, not {self.type}")
        if self.type != "slack" and (self.channel or self.username):
            raise ValueError(f"channel and username are for slack providers, not {self.type}")
        return self


def _event_list(value: Any) -> Any:
    if isinstance(value, list) and "*" in value:
        return [e.value for e in EventType]
    return value


class Alert(_Model):
    providers: list[str] = Field(min_length=1)
    events: Annotated[list[EventType], BeforeValidator(_event_list)] = Field(min_length=1)


class Delivery(_Model):
    attempts: int = Field(default=4, ge=1, le=20)  # the first included
    min_backoff: Seconds = Field(default=1.0, alias="minBackoff")
    max_backoff: Seconds = Field(default=30.0, alias="maxBackoff")
    timeout: Seconds = 10.0  # per HTTP request
    queue_size: int = Field(default=100, ge=1, le=100_000, alias="queueSize")

    @model_validator(mode="after")
    def _order(self) -> Delivery:
        if self.max_backoff < self.min_backoff:
            raise ValueError("maxBackoff must be >= minBackoff")
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0")
        return self


class NotificationConfig(_Model):
    # Who is speaking, in every message (several daemons may share a channel).
    source: str = Field(default_factory=lambda: os.uname().nodename, max_length=200)
    providers: list[Provider] = Field(min_length=1)
    alerts: list[Alert] = Field(min_length=1)
    delivery: Delivery = Field(default_factory=Delivery)

    @model_validator(mode="after")
    def _references(self) -> NotificationConfig:
        names = [p.name for p in self.providers]
        duplicate = sorted({n for n in names if names.count(n) > 1})
        if duplicate:
            raise ValueError(f"provider names must be unique: {', '.join(duplicate)}")
        by_name = {p.name: p for p in self.providers}
        for i, alert in enumerate(self.alerts):
            for name in alert.providers:
                provider = by_name.get(name)
                if provider is None:
                    raise ValueError(f"alerts[{i}]: no provider named {name!r} (have: {', '.join(names)})")
                if provider.type == "github":
                    wrong = sorted(e.value for e in alert.events if e not in GITHUB_EVENTS)
                    if wrong:
                        raise ValueError(
                            f"alerts[{i}]: provider {name!r} (github) sets commit statuses for "
                            f"{', '.join(sorted(e.value for e in GITHUB_EVENTS))}; not {', '.join(wrong)} "
                            "(drift belongs to no commit)"
                        )
        return self

    def routes(self) -> dict[EventType, list[Provider]]:
        """Event type -> the providers it goes to (each once)."""
        by_name = {p.name: p for p in self.providers}
        out: dict[EventType, list[Provider]] = {}
        for alert in self.alerts:
            for event in alert.events:
                for name in alert.providers:
                    targets = out.setdefault(event, [])
                    if by_name[name] not in targets:
                        targets.append(by_name[name])
        return out


def load_notifications(path: Path) -> NotificationConfig:
    """Read and validate; NotificationConfigError lists every problem with its position."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NotificationConfigError(f"{path}: {size} bytes; at most {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotificationConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise NotificationConfigError(f"{path}: not UTF-8 text") from exc
    sink = ErrorSink()
    documents = read_yaml_documents(text, str(path), sink)  # JSON is YAML
    if sink:
        raise NotificationConfigError("\n".join(e.render() for e in sink.errors))
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise NotificationConfigError(f"{path}: one mapping expected (providers, alerts, delivery)")
    document = documents[0]
    try:
        return NotificationConfig.model_validate(document.data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
            pos = document.locations.locate(_source_path(document.data, loc))
            message = _message(error)
            lines.append(f"{path}:{pos.line}:{pos.column}: {format_path(loc) or 'file'}: {message}")
        raise NotificationConfigError("\n".join(lines)) from None


def _source_path(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """pydantic's location in the data's own spelling (aliases, not Python names)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), part)
            part = camel if camel in node else part
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
        )
    return tuple(out)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"]).removeprefix("Value error, ")
