"""Wire-level helpers for the fault matrix: successful writes from the hooks' log, and a
race action that lets a write land and then resets the connection."""

from __future__ import annotations

import http.client
from collections import Counter
from typing import Any

from reconciler.sandbox.hooks import WireCall
from tests.reliability.crash import is_write

_CONTENT_TYPES = {
    "dynamodb": "application/x-amz-json-1.0",
    "cloudfront-keyvaluestore": "application/json",
    "lambda": "application/json",
    "cloudfront": "text/xml",
}


def ok_writes(hooks: Any) -> Counter[str]:
    """Write calls the service accepted (2xx), as "service.Operation" -> n."""
    return Counter(
        f"{e['service']}.{e['operation']}"
        for e in hooks.log()
        if is_write(e["service"], e["operation"])
        and e["status"] is not None
        and 200 <= e["status"] < 300
    )


def statuses(hooks: Any, service: str, operation: str) -> list[int | None]:
    return [
        e["status"] for e in hooks.log() if (e["service"], e["operation"]) == (service, operation)
    ]


def land_then_reset(port: int) -> Any:
    """A race action: the same request is sent again on a fresh connection (so it lands,
    through the hooks, logged like any call); then the fault's reset drops the client's
    connection before any response byte. To the client: a write whose answer was lost."""

    def action(call: WireCall) -> None:
        headers = {
            k: v
            for k, v in call.headers.items()
            if k.lower() not in ("content-length", "connection")
        }
        headers.setdefault(
            "Content-Type", _CONTENT_TYPES.get(call.service, "application/octet-stream")
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            target = call.path + (f"?{call.query}" if call.query else "")
            conn.request(call.method, target, body=call.body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                raise AssertionError(f"replayed {call.operation}: {response.status}")
        finally:
            conn.close()

    return action
