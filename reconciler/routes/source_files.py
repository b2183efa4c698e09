"""Finding and reading the files a route set is made of, with every failure named.

A declared source that cannot be read is an error, never "no items": a dangling symlink
skipped in silence once turned into a prune of every tenant that file had declared. So
every path found under the routes folder (a YAML file, a bulk file matched by a glob) is
either read as a regular file inside the repository or reported with the reason, and
folders that cannot be listed are reported too. Symlinked folders are never entered (a
link to / must not make validation walk the file system).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path

UNREADABLE = "file-unreadable"


class FileProblem(Exception):
    """Why a path cannot be used as a source; `code` is the stable error code."""

    def __init__(self, reason: str, code: str = UNREADABLE) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True)
class WalkEntry:
    """A name found under the base folder: a file, a symlink (to anything, or dangling), a
    named pipe, a socket, a device, or (when asked for) a real folder."""

    path: Path
    relative: str  # POSIX path relative to the base
    folder: bool = False  # a real folder (entered by the walk)


def walk(
    base: Path, on_error: Callable[[Path, str], None], folders: bool = False
) -> Iterator[WalkEntry]:
    """Every entry under `base`. Symlinked folders are listed as entries but never
    entered; real folders are entered, and listed too when `folders` is set. A folder
    that cannot be listed is passed to `on_error` with the reason."""

    def report(error: OSError) -> None:
        on_error(Path(error.filename or base), _reason(error))

    for folder, dirs, files in os.walk(base, followlinks=False, onerror=report):
        dirs.sort()
        here = Path(folder)
        linked = {name for name in dirs if (here / name).is_symlink()}
        names = [*files, *linked, *(d for d in dirs if folders and d not in linked)]
        for name in sorted(names):
            path = here / name
            real_folder = name in dirs and name not in linked
            yield WalkEntry(path, path.relative_to(base).as_posix(), real_folder)


def read_source(
    path: Path, base: Path, max_bytes: int, too_large_code: str, base_name: str = "the repository"
) -> bytes:
    """The bytes of `path`, which must be (or link to) a regular file inside `base`.

    Raises FileProblem naming the reason: a dangling symlink, a symlink loop, a path that
    resolves outside `base`, a folder, a named pipe, a socket or device, no permission, a
    read error, or more than `max_bytes` bytes (with `too_large_code`). A named pipe is
    never opened for reading (that would block until a writer appears).
    """
    with _open_source(path, base, max_bytes, too_large_code, base_name) as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            raise FileProblem(f"read failed: {_reason(error)}") from None
    if len(data) > max_bytes:  # grew while being read
        raise FileProblem(f"is over {max_bytes} bytes; the limit is {max_bytes}", too_large_code)
    return data


@dataclass(frozen=True)
class Source:
    """A file read with read_source's rules (same checks, same errors), whole or in
    chunks: a file known by its digest need not be held in memory whole."""

    path: Path
    base: Path
    max_bytes: int
    too_large_code: str
    base_name: str = "the repository"

    def read(self) -> bytes:
        return read_source(
            self.path, self.base, self.max_bytes, self.too_large_code, self.base_name
        )

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The file's bytes in pieces of at most `size` (FileProblem as read_source)."""
        args = (self.path, self.base, self.max_bytes, self.too_large_code, self.base_name)
        with _open_source(*args) as handle:
            total = 0
            while True:
                try:
                    chunk = handle.read(size)
                except OSError as error:
                    raise FileProblem(f"read failed: {_reason(error)}") from None
                if not chunk:
                    return
                total += len(chunk)
                if total > self.max_bytes:  # grew while being read
                    message = f"is over {self.max_bytes} bytes; the limit is {self.max_bytes}"
                    raise FileProblem(message, self.too_large_code)
                yield chunk

    def digest(self) -> str:
        """sha256 (hex) of the file's bytes, read in chunks."""
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


def _open_source(
    path: Path, base: Path, max_bytes: int, too_large_code: str, base_name: str
) -> BufferedReader:
    resolved = _resolve(path)
    if not resolved.is_relative_to(base.resolve()):
        raise FileProblem(f"resolves outside {base_name} (symlink?)", "path-outside-root")
    try:
        info = os.stat(resolved)
    except OSError as error:
        raise FileProblem(_reason(error)) from None
    _require_regular(info.st_mode)
    try:
        fd = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise FileProblem(_reason(error)) from None
    handle = os.fdopen(fd, "rb")
    assert isinstance(handle, BufferedReader)
    try:
        opened = os.fstat(handle.fileno())
        _require_regular(opened.st_mode)  # replaced between stat and open
        if opened.st_size > max_bytes:
            raise FileProblem(
                f"is {opened.st_size} bytes; the limit is {max_bytes}", too_large_code
            )
    except BaseException:
        handle.close()
        raise
    return handle


def _resolve(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports ELOOP this way
        raise FileProblem("symlink loop (the link resolves back to itself)") from None
    except FileNotFoundError:
        if path.is_symlink():
            target = os.readlink(path)
            raise FileProblem(f"dangling symlink: its target {target!r} does not exist") from None
        raise FileProblem("does not exist (removed while validating?)") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise FileProblem("symlink loop (the link resolves back to itself)") from None
        raise FileProblem(_reason(error)) from None


def _require_regular(mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise FileProblem("is a folder, not a file")
    if stat.S_ISFIFO(mode):
        raise FileProblem("is a named pipe (FIFO), not a regular file")
    if stat.S_ISSOCK(mode):
        raise FileProblem("is a socket, not a regular file")
    raise FileProblem("is a device or other special file, not a regular file")


def _reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or str(error)
