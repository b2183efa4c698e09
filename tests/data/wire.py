"""Test helpers that read the sandbox's wire hooks over HTTP (the same API a daemon test uses)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def _call(endpoint: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{endpoint}/_sandbox/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"{}")


def calls(endpoint: str) -> dict[str, dict[str, int]]:
    return dict(_call(endpoint, "GET", "calls")["calls"])


def count(endpoint: str, service: str, operation: str) -> int:
    return int(calls(endpoint).get(service, {}).get(operation, 0))


def log(endpoint: str) -> list[dict[str, Any]]:
    return list(_call(endpoint, "GET", "log")["log"])


def statuses(endpoint: str, service: str, operation: str) -> list[int | None]:
    """The HTTP status of every call of one operation, in order (None: a reset)."""
    return [
        e["status"] for e in log(endpoint) if (e["service"], e["operation"]) == (service, operation)
    ]


def reset_calls(endpoint: str) -> None:
    _call(endpoint, "POST", "reset", {})


def inject(endpoint: str, **fault: Any) -> str:
    return str(_call(endpoint, "POST", "faults", fault)["id"])


def clear_faults(endpoint: str) -> None:
    _call(endpoint, "DELETE", "faults")


def faults(endpoint: str) -> list[dict[str, Any]]:
    return list(_call(endpoint, "GET", "faults")["faults"])


WRITE_OPERATIONS = {
    "cloudfront-keyvaluestore": {"UpdateKeys", "PutKey", "DeleteKey"},
    "dynamodb": {"BatchWriteItem", "PutItem", "DeleteItem", "UpdateItem", "CreateTable"},
    "cloudfront": {
        "CreateKeyValueStore",
        "UpdateDistribution",
        "UpdateFunction",
        "PublishFunction",
    },
}


def writes(endpoint: str, ok_only: bool = False) -> dict[str, int]:
    """Write calls on the wire by operation (ok_only: those the service accepted, 2xx)."""
    out: dict[str, int] = {}
    for e in log(endpoint):
        if e["operation"] not in WRITE_OPERATIONS.get(e["service"], ()):
            continue
        if ok_only and not (e["status"] is not None and 200 <= e["status"] < 300):
            continue
        out[e["operation"]] = out.get(e["operation"], 0) + 1
    return out


def write_calls(endpoint: str) -> int:
    seen = calls(endpoint)
    return sum(
        n
        for service, ops in seen.items()
        for op, n in ops.items()
        if op in WRITE_OPERATIONS.get(service, ())
    )
