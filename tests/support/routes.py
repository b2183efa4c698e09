"""Route repositories written by tests: stores and tables as YAML (and JSONL bulk files),
so data tests and benchmarks drive the real pass from real route files."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HEADER = "apiVersion: edge.routing/v1\n"


def _guard(guard: Mapping[str, Any] | None) -> str:
    if not guard:
        return ""
    return "  pruneGuard: " + json.dumps(dict(guard)) + "\n"


def write_policy(
    routes: Path, patterns: Iterable[str] = ("*.example.com",), guard: Mapping[str, Any] | None = None
) -> Path:
    """The ReconcilerPolicy every route set with origins needs (allowed origin patterns)."""
    routes.mkdir(parents=True, exist_ok=True)
    path = routes / "policy.yaml"
    path.write_text(
        HEADER
        + "kind: ReconcilerPolicy\nmetadata: {name: test-policy}\nspec:\n"
        + f"  allowedOriginPatterns: {json.dumps(list(patterns))}\n"
        + _guard(guard)
    )
    return path


def write_store(
    routes: Path,
    name: str,
    entries: Mapping[str, str],
    *,
    prune: bool = True,
    guard: Mapping[str, Any] | None = None,
) -> Path:
    routes.mkdir(parents=True, exist_ok=True)
    path = routes / f"store-{name}.yaml"
    body = "".join(f"    {json.dumps(k)}: {json.dumps(v)}\n" for k, v in entries.items())
    path.write_text(
        HEADER
        + f"kind: KeyValueStore\nmetadata: {{name: {name}}}\nspec:\n  prune: {str(prune).lower()}\n"
        + _guard(guard)
        + ("  entries:\n" + body if entries else "  entries: {}\n")
    )
    return path


def write_table(
    routes: Path,
    name: str,
    items: Iterable[Mapping[str, Any]],
    *,
    partition_key: str = "tenantId",
    sort_key: str | None = "accountId",
    prune: bool = True,
    guard: Mapping[str, Any] | None = None,
    drift_detection: str | None = None,
) -> Path:
    """The table's document plus one JSONL bulk file holding every item."""
    routes.mkdir(parents=True, exist_ok=True)
    bulk = routes / f"{name}-items"
    bulk.mkdir(exist_ok=True)
    with (bulk / "items.jsonl").open("w") as out:
        for item in items:
            out.write(json.dumps(dict(item)) + "\n")
    keys = f"  partitionKey: {{name: {partition_key}, type: S}}\n"
    if sort_key is not None:
        keys += f"  sortKey: {{name: {sort_key}, type: S}}\n"
    path = routes / f"table-{name}.yaml"
    path.write_text(
        HEADER
        + f"kind: RoutingTable\nmetadata: {{name: {name}}}\nspec:\n"
        + keys
        + f"  prune: {str(prune).lower()}\n"
        + _guard(guard)
        + (f"  driftDetection: {drift_detection}\n" if drift_detection else "")
        + f"  itemsFrom: [{name}-items/*.jsonl]\n"
    )
    return path


def tenants(count: int, backend: str = "b{}.example.com", start: int = 0) -> list[dict[str, str]]:
    return [
        {"tenantId": f"t{i:05d}", "accountId": str(1000 + i), "defaultBackend": backend.format(i % 7)}
        for i in range(start, start + count)
    ]


def write_cloudfront_function(
    routes: Path,
    name: str,
    source: str,
    *,
    store: str | None = None,
    comment: str = "",
) -> Path:
    """A CloudFrontFunction document; `source` is relative to the repository root."""
    routes.mkdir(parents=True, exist_ok=True)
    path = routes / f"function-{name}.yaml"
    spec = f"  source: {source}\n" + (f"  keyValueStore: {store}\n" if store else "")
    spec += f"  comment: {json.dumps(comment)}\n" if comment else ""
    path.write_text(HEADER + f"kind: CloudFrontFunction\nmetadata: {{name: {name}}}\nspec:\n" + spec)
    return path


def write_lambda_function(
    routes: Path,
    name: str,
    source: str,
    *,
    role: str = "arn:aws:iam::123456789012:role/tenant-router-edge",
    config: Mapping[str, Any] | None = None,
    memory: int = 128,
    timeout: int = 5,
    keep_versions: int = 3,
) -> Path:
    """A LambdaEdgeFunction document; `source` (a folder) is relative to the repository root."""
    routes.mkdir(parents=True, exist_ok=True)
    path = routes / f"lambda-{name}.yaml"
    path.write_text(
        HEADER
        + f"kind: LambdaEdgeFunction\nmetadata: {{name: {name}}}\nspec:\n"
        + f"  source: {source}\n  runtime: nodejs20.x\n  handler: index.handler\n"
        + f"  role: {role}\n  memorySize: {memory}\n  timeout: {timeout}\n"
        + f"  keepVersions: {keep_versions}\n"
        + f"  config: {json.dumps(dict(config or {}))}\n"
    )
    return path
