"""The wire hooks over HTTP, under /_sandbox/ on the sandbox's own port:

GET    /_sandbox/calls            -> {"calls": {service: {operation: n}}}
GET    /_sandbox/log              -> {"log": [{service, operation, method, path, status,
                                               signature, client_port}]}
POST   /_sandbox/reset            {"seed"?: int}  clears counts, log, faults; default switches
GET    /_sandbox/faults           -> {"faults": [...]}
POST   /_sandbox/faults           {service, operation?, kind, probability?, count?, after?,
                                   delay?, status?, code?, message?, where?, seed?, race?}
                                   -> {"id": ...}
DELETE /_sandbox/faults[/<id>]    removes one or all faults
GET    /_sandbox/switches         -> {"switches": {name: value}}
POST   /_sandbox/switches         {name: value, ...} -> {"switches": {...}}
POST   /_sandbox/streams          {"table": name, "action": "trim" | "split" |
                                   "expire-iterators"}: a DynamoDB stream's hours, now
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.sandbox.hooks.middleware import WireHooks

_FAULT_FIELDS = frozenset(
    {"service", "operation", "kind", "probability", "count", "after", "delay", "status",
     "code", "message", "where", "race", "seed"}
)  # fmt: skip


def serve(
    hooks: WireHooks, environ: dict[str, Any], start_response: Any, raw: bytes
) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")[len("/_sandbox/") :].strip("/")
    try:
        payload = json.loads(raw or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        status, body = _route(hooks, method, path, payload)
    except (ValueError, TypeError, LookupError) as exc:
        status, body = 400, {"error": str(exc)}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {'OK' if status < 400 else 'Error'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _route(
    hooks: WireHooks, method: str, path: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if path == "calls" and method == "GET":
        return 200, {"calls": hooks.calls()}
    if path == "log" and method == "GET":
        return 200, {"log": hooks.log()}
    if path == "reset" and method == "POST":
        hooks.reset(seed=payload.get("seed"))
        return 200, {"reset": True}
    if path == "faults" and method == "GET":
        return 200, {"faults": hooks.faults()}
    if path == "faults" and method == "POST":
        unknown = set(payload) - _FAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return 201, {"id": hooks.inject(**payload)}
    if path == "faults" and method == "DELETE":
        hooks.clear_faults()
        return 200, {"cleared": True}
    if path.startswith("faults/") and method == "DELETE":
        found = hooks.remove(path.split("/", 1)[1])
        return (200, {"removed": True}) if found else (404, {"error": "no such fault"})
    if path == "switches" and method == "GET":
        return 200, {"switches": hooks.switches.as_dict()}
    if path == "switches" and method == "POST":
        hooks.switches.update(**payload)
        return 200, {"switches": hooks.switches.as_dict()}
    if path == "streams" and method == "POST":
        if set(payload) != {"table", "action"}:
            raise ValueError(
                'a stream event is {"table": name, "action": trim | split | expire-iterators}'
            )
        hooks.stream_event(str(payload["table"]), str(payload["action"]))
        return 200, {"event": payload["action"]}
    return 404, {"error": f"no control route {method} /_sandbox/{path}"}
