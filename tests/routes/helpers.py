"""Small repositories on disk for tests: route files plus the sources they reference."""

from __future__ import annotations

from pathlib import Path

from reconciler.routes import RouteSet, RouteSetInvalid, load_route_set

POLICY = """apiVersion: edge.routing/v1
kind: ReconcilerPolicy
metadata: {name: policy}
spec:
  allowedOriginPatterns: ["*.example.com"]
"""


def write_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (root / "routes").mkdir(exist_ok=True)
    return root


def load(root: Path) -> RouteSet:
    return load_route_set(root / "routes", root)


def errors(root: Path) -> list[str]:
    try:
        load(root)
    except RouteSetInvalid as invalid:
        return [f"{e.file}:{e.line}:{e.field}:{e.code}" for e in invalid.errors]
    return []
