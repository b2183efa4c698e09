"""Paths written in route files: relative, inside the repository, symlinks included.

A route file is reviewed as text; a path that climbs out of the repository (`..`, an
absolute path, a symlink) would make the reconciler publish code nobody reviewed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath


class PathProblem(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_relative(text: str) -> PurePosixPath:
    """The path as written, refused when it is absolute or climbs with `..`."""
    if "\\" in text or PureWindowsPath(text).drive:
        raise PathProblem(
            f"use '/' separators and a relative path, not {text!r}", "path-outside-root"
        )
    path = PurePosixPath(text)
    if path.is_absolute():
        raise PathProblem(
            f"path must be relative to the repository root, not absolute: {text!r}",
            "path-outside-root",
        )
    if ".." in path.parts:
        raise PathProblem(f"path must not contain '..': {text!r}", "path-outside-root")
    return path


def resolve_inside(base: Path, text: str) -> Path:
    """`base/text` with symlinks resolved; it must exist and stay under `base`."""
    relative = check_relative(text)
    candidate = base / relative
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as error:  # Python 3.11 reports a loop as RuntimeError
        raise PathProblem(f"{text!r} cannot be followed: {error}", "file-unreadable") from None
    if not resolved.is_relative_to(base.resolve()):
        raise PathProblem(
            f"{text!r} resolves outside the repository (symlink?)", "path-outside-root"
        )
    if not resolved.exists():
        raise PathProblem(f"{text!r} does not exist", "path-not-found")
    return resolved


def inside(base: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(base.resolve())
