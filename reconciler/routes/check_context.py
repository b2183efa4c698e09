"""What every set-level check needs: the valid documents, where they came from, the sink."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from reconciler.routes.documents import RouteDocument
from reconciler.routes.errors import ErrorSink, RouteError
from reconciler.routes.policy_kind import ReconcilerPolicy
from reconciler.routes.source_files import WalkEntry
from reconciler.routes.text_positions import Position
from reconciler.routes.yaml_reader import FieldPath, SourceDocument, format_path

D = TypeVar("D", bound=RouteDocument)


@dataclass(frozen=True)
class ValidDocument:
    model: RouteDocument
    source: SourceDocument

    @property
    def name(self) -> str:
        return self.model.metadata.name

    def position(self, path: FieldPath) -> Position:
        return self.source.locations.locate(path)


@dataclass
class CheckContext:
    root: Path
    routes_dir: Path
    sink: ErrorSink
    documents: list[ValidDocument]
    # kind -> names declared, including by documents whose spec is invalid, so that a
    # schema error in one document does not cascade into "unknown reference" elsewhere.
    declared: dict[str, set[str]]
    # Some input was unreadable: names it declared are unknown, skip reference checks.
    incomplete: bool = False
    input_digests: dict[str, str] = field(default_factory=dict)
    # Everything under the routes folder (one walk, shared by route files and bulk globs).
    listing: list[WalkEntry] = field(default_factory=list)

    def of_kind(self, model: type[D]) -> Iterator[tuple[D, ValidDocument]]:
        for doc in self.documents:
            if isinstance(doc.model, model):
                yield doc.model, doc

    def error(self, doc: ValidDocument, path: FieldPath, message: str, code: str) -> None:
        pos = doc.position(path)
        self.sink.add(doc.source.file, pos.line, pos.column, format_path(path), message, code)

    def relative(self, path: Path) -> str:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: name the link itself
            return self.link_name(path)
        try:
            return resolved.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def link_name(self, path: Path) -> str:
        """`path` relative to the root without following its last component: where a
        link that cannot be followed (dangling, looping) was found."""
        try:
            return (path.parent.resolve() / path.name).relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def record_input(self, path: Path, data: bytes) -> None:
        """Count `data`, the bytes of `path`, into the content hash."""
        self.record_digest(path, hashlib.sha256(data).hexdigest())

    def record_digest(self, path: Path, digest: str) -> None:
        """Count the bytes of `path`, known by their sha256 (hex), into the content hash."""
        self.input_digests[self.relative(path)] = digest

    @contextmanager
    def capture(self) -> Iterator[list[RouteError]]:
        """Errors added inside the block are also collected apart, so that a result kept
        between loads (RouteSetLoader) can report them again without re-checking."""
        outer, self.sink = self.sink, ErrorSink()
        try:
            yield self.sink.errors
        finally:
            outer.errors.extend(self.sink.errors)
            self.sink = outer

    @property
    def policy(self) -> ReconcilerPolicy | None:
        for model, _ in self.of_kind(ReconcilerPolicy):
            return model
        return None

    @property
    def origin_patterns(self) -> tuple[str, ...] | None:
        policy = self.policy
        return tuple(policy.spec.allowed_origin_patterns) if policy else None
