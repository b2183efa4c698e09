"""Push-triggered reconcile: POST /hook/github | /hook/gitlab | /hook/generic (Flux's
Receiver). A request signed with the webhook secret fetches the git source at once and
runs a pass on what it fetched; an unsigned or wrongly signed one changes nothing.

What triggers: GitHub `push` events, GitLab `Push Hook` events, any signed generic
request. With the built-in git source, pushes to other branches are acknowledged and
ignored (202, `ignored`). GitHub's `ping` (sent when the hook is created) answers 200.
Requests coalesce: a burst of deliveries makes one fetch and one pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import structlog

from reconciler.daemon.auth import WEBHOOK_KINDS, Secret, verify_webhook

log = structlog.get_logger("reconciler.daemon.webhook")

# GitHub caps payloads at 25 MB and sends nothing larger; a push event is a few KB. A
# bigger body is refused before it is read whole.
MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    code: int
    payload: dict[str, Any]
    result: str  # accepted | ignored | pong | rejected | disabled (the metric's label)


class WebhookReceiver:
    def __init__(
        self,
        secret: Secret,
        branch: str | None,
        trigger: Callable[[str], dict[str, Any]],
        count: Callable[[str, str], None] = lambda kind, result: None,
    ) -> None:
        """`branch`: the git source's branch (pushes elsewhere are ignored); None with
        git-sync or a plain directory (every push event triggers). `trigger(kind)`: fetch
        and request a pass; returns what the API's POST /reconcile returns."""
        self._secret = secret
        self._branch = branch
        self._trigger = trigger
        self._count = count

    def handle(self, kind: str, headers: dict[str, str], body: bytes, client: str) -> Reply:
        reply = self._handle(kind, headers, body, client)
        self._count(kind if kind in WEBHOOK_KINDS else "other", reply.result)
        return reply

    def _handle(self, kind: str, headers: dict[str, str], body: bytes, client: str) -> Reply:
        if kind not in WEBHOOK_KINDS:
            return Reply(404, {"error": f"no webhook {kind!r}; use one of {list(WEBHOOK_KINDS)}"}, "rejected")
        secret = self._secret.get()
        if secret is None:
            log.warning("webhook.rejected", kind=kind, client=client, why="no webhook secret configured")
            return Reply(404, {"error": "webhooks are off: no webhook secret configured"}, "disabled")
        verdict = verify_webhook(kind, headers, body, secret)
        if not verdict.ok:
            log.warning("webhook.rejected", kind=kind, client=client, why=verdict.why)
            return Reply(401, {"error": f"not accepted: {verdict.why}"}, "rejected")
        event, ref, ignore = self._classify(kind, headers, body)
        delivery = headers.get("x-github-delivery") or headers.get("x-gitlab-event-uuid")
        if event == "ping":
            log.info("webhook.pinged", kind=kind, client=client, delivery=delivery)
            return Reply(200, {"pong": True}, "pong")
        if ignore:
            log.info(
                "webhook.ignored", kind=kind, hook_event=event, ref=ref, why=ignore, delivery=delivery
            )
            return Reply(202, {"ignored": ignore}, "ignored")
        answer = self._trigger(kind)
        log.info(
            "webhook.accepted",
            kind=kind,
            hook_event=event,
            ref=ref,
            client=client,
            delivery=delivery,
            request_id=answer.get("requestId"),
        )
        return Reply(202, answer, "accepted")

    def _classify(
        self, kind: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str | None, str]:
        """(event, ref, why it is ignored or "")."""
        if kind == "github":
            event = headers.get("x-github-event", "")
            if event == "ping":
                return event, None, ""
            if event != "push":
                return event, None, f"GitHub event {event!r}: only push events reconcile"
        elif kind == "gitlab":
            event = headers.get("x-gitlab-event", "")
            if event != "Push Hook":
                return event, None, f"GitLab event {event!r}: only Push Hook events reconcile"
        else:
            return "generic", None, ""
        ref = _ref(body)
        if self._branch is not None and ref is not None and ref != f"refs/heads/{self._branch}":
            return event, ref, f"push to {ref}; the git source follows {self._branch}"
        return event, ref, ""


def _ref(body: bytes) -> str | None:
    if body.startswith(b"payload="):  # GitHub's content type application/x-www-form-urlencoded
        body = parse_qs(body.decode("utf-8", "replace")).get("payload", [""])[0].encode()
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    ref = payload.get("ref") if isinstance(payload, dict) else None
    return ref if isinstance(ref, str) else None
