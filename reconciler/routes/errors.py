"""Errors found in a route set: typed, positioned, collected rather than raised one by one.

Validation reports every problem of a set at once, so checks append to an `ErrorSink`
and only the loader raises, once, with the whole list.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class RouteError:
    """One problem, positioned the way an editor or CI annotation wants it.

    `file` is relative to the repository root (POSIX separators); `line` and `column` are
    1-based; `field` is the dotted path inside the document (`spec.entries.premium`,
    `spec.behaviors[1].originRequest`) or, for bulk item files, the attribute name.
    `code` is a stable kebab-case identifier meant for scripts and tests.
    """

    file: str
    line: int
    column: int
    field: str
    message: str
    code: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        subject = f" {self.field}:" if self.field else ""
        return f"{where}:{subject} {self.message} [{self.code}]"

    def to_json(self) -> dict[str, str | int]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "code": self.code,
        }


class RouteSetInvalid(Exception):
    """The route set must not be applied; `errors` lists every problem, sorted by position."""

    def __init__(self, errors: list[RouteError]) -> None:
        self.errors = sorted(errors)
        super().__init__(f"{len(self.errors)} error(s) in the route set")

    def render(self) -> str:
        return "\n".join(error.render() for error in self.errors)


@dataclass
class ErrorSink:
    errors: list[RouteError] = field(default_factory=list)

    def add(
        self, file: str, line: int, column: int, field_path: str, message: str, code: str
    ) -> None:
        self.errors.append(RouteError(file, line, column, field_path, message, code))

    def __bool__(self) -> bool:
        return bool(self.errors)
