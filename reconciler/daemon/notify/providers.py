"""One event -> one HTTP request, per provider type (nothing is sent here).

    webhook  POST the event as JSON; with a secret, `X-Signature: sha256=<HMAC of the
             body>` (what our own /hook/generic and Flux's generic-hmac Receiver check)
    slack    a Slack incoming-webhook message (text + a coloured attachment); Mattermost
             and Rocket.Chat take the same shape
    github   a commit status on the revision (POST /repos/OWNER/NAME/statuses/SHA):
             success / failure / error, one context; skipped for a dirty work tree or no
             revision (the files read were not that commit)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler import __version__
from reconciler.daemon.auth import sign
from reconciler.daemon.notify.config import Provider
from reconciler.daemon.notify.events import COMMIT_FAULTS, Event, EventType

USER_AGENT = f"edge-routing-reconciler/{__version__}"
_COLOURS = {"info": "#2eb67d", "warning": "#ecb22e", "error": "#e01e5a"}
_ICONS = {"info": ":white_check_mark:", "warning": ":warning:", "error": ":rotating_light:"}
SLACK_LINES = 10  # changes or errors listed in a chat message


@dataclass(frozen=True)
class Outgoing:
    url: str
    body: bytes
    headers: dict[str, str]


def render(provider: Provider, event: Event, source: str) -> Outgoing | str:
    """The request to send, or why nothing is sent for this event."""
    if provider.type == "webhook":
        return _webhook(provider, event, source)
    if provider.type == "slack":
        return _slack(provider, event, source)
    return _github(provider, event, source)


def _json_request(url: str, payload: Any, headers: dict[str, str] | None = None) -> Outgoing:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return Outgoing(
        url,
        body,
        {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )


def _webhook(provider: Provider, event: Event, source: str) -> Outgoing:
    assert provider.url is not None
    out = _json_request(
        provider.url, event.payload(source), {"X-Reconciler-Event": event.type.value}
    )
    headers = {**provider.headers, **out.headers}
    if provider.secret:
        headers["X-Signature"] = sign(out.body, provider.secret.encode())
    return Outgoing(out.url, out.body, headers)


def _slack(provider: Provider, event: Event, source: str) -> Outgoing:
    assert provider.url is not None
    lines: list[str] = []
    for change in event.changes[:SLACK_LINES]:
        lines.append(_change_line(change))
    if event.more_changes or len(event.changes) > SLACK_LINES:
        lines.append(f"... and {event.more_changes + max(0, len(event.changes) - SLACK_LINES)} more")
    for rejection in event.rejected:
        lines.append(f"*{rejection['function']}* ({rejection['code']}):")
        lines += [f"  {p}" for p in rejection["problems"][:SLACK_LINES]]
    if event.type is not EventType.GATE_REJECTED:
        lines += list(event.errors[:SLACK_LINES])
    fields = [{"title": "source", "value": source, "short": True}]
    if event.revision is not None:
        subject = event.revision.get("subject") or ""
        fields.append({"title": "revision", "value": f"{event.revision_id} {subject}".strip(), "short": True})
    fields.append({"title": "pass", "value": f"#{event.pass_number} ({event.trigger})", "short": True})
    payload: dict[str, Any] = {
        "text": f"{_ICONS[event.severity]} {event.title}",
        "attachments": [
            {
                "color": _COLOURS[event.severity],
                "fallback": event.title,
                "text": "\n".join(f"`{line}`" if line else line for line in lines),
                "fields": fields,
                "footer": USER_AGENT,
                "ts": int(event.time),
            }
        ],
    }
    if provider.channel:
        payload["channel"] = provider.channel
    if provider.username:
        payload["username"] = provider.username
    return _json_request(provider.url, payload)


def _change_line(change: dict[str, Any]) -> str:
    before, after = change.get("before", change.get("found")), change.get("after")
    if "restored" in change:
        after = change["restored"]
    elif "declared" in change:
        after = change["declared"]
    detail = f"{json.dumps(before, default=str)} -> {json.dumps(after, default=str)}"
    return f"{change['action']} {change['address']}: {detail}"


def _github(provider: Provider, event: Event, source: str) -> Outgoing | str:
    if event.revision is None:
        return "no revision: the route files are not in a git work tree"
    if event.revision.get("dirty"):
        return f"the work tree is dirty ({event.revision_id}): the files read were not a commit"
    if event.type in (EventType.APPLIED, EventType.RECOVERED):
        state = "success"
    elif event.type is EventType.GATE_REJECTED or (
        event.type is EventType.STALLED and event.reason in COMMIT_FAULTS
    ):
        state = "failure"
    else:
        state = "error"
    description = event.title if len(event.title) <= 140 else event.title[:137] + "..."
    payload: dict[str, Any] = {"state": state, "description": description, "context": provider.context}
    if provider.target_url:
        payload["target_url"] = provider.target_url
    url = f"{provider.api_url.rstrip('/')}/repos/{provider.repository}/statuses/{event.revision['sha']}"
    assert provider.token is not None
    return _json_request(
        url,
        payload,
        {
            "Authorization": f"Bearer {provider.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
