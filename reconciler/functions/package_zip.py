"""Deterministic deployment package for a Lambda@Edge function folder.

Lambda's CodeSha256 is base64(sha256(zip bytes)) and PublishVersion only makes a new
version when that hash changes, so the zip must depend on file contents alone: not on
mtimes, umask, filesystem order, the zlib on the machine or the platform that built it.

Hence: entries sorted by POSIX path; every timestamp 1980-01-01 00:00:00 (the zip
epoch); modes fixed by name (0o755 only for the few names that are executables by
convention, 0o644 otherwise), never read from disk; entries STORED rather than deflated
(deflate output may differ between zlib builds, and these packages are a few KB); no
directory entries, no extra fields, no comment.

What is shipped: every regular file of the folder except
  - anything under node_modules/, tests/ or a dot-directory (the Node.js runtime ships
    AWS SDK v3, which is the only dependency; see _check_runtime_dependencies),
  - dotfiles, package-lock.json, *.md, config.example.json;
  - config.json: with a declared (non-empty) config the package gets the one generated
    from it, in canonical JSON, and a local config.json is ignored; without one the
    folder's own config.json is shipped as it is, and a folder without one gets none
    (so an adopted function that never had a config.json does not gain one).

CodeSha256 tells whether two zips are the same bytes; `content_digest` tells whether
they hold the same files: it reads only the entries' normalised paths and contents, so a
zip made by hand (the console, Python's zipfile, `zip -r`: other timestamps, order,
modes, compression, directory entries) has the digest of the reconciler's rebuild of
the same files. LambdaPackage.content_digest == content_digest(LambdaPackage.zip_bytes).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = frozenset({"node_modules", "tests", "__pycache__"})
EXCLUDED_FILES = frozenset({"package-lock.json", "config.example.json", "config.json"})
# Guards against a zip bomb when a deployed package is digested (Lambda's own limit).
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
EXCLUDED_SUFFIXES = (".md",)
EXECUTABLE_NAMES = frozenset({"bootstrap"})
CONFIG_NAME = "config.json"
_UNIX = 3  # "made by" system in the central directory; fixed so Windows builds agree


class PackageError(ValueError):
    """The folder cannot be packaged as it is (the message says what to change)."""


@dataclass(frozen=True)
class LambdaPackage:
    zip_bytes: bytes
    code_sha256: str  # base64(sha256(zip_bytes)), Lambda's CodeSha256
    files: tuple[str, ...]
    content_digest: str  # content_digest(zip_bytes): the files, not the zip's bytes


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of the raw SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def _files_digest(contents: Mapping[str, bytes]) -> str:
    lines = b"".join(
        name.encode("utf-8") + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n"
        for name, data in sorted(contents.items())
    )
    return hashlib.sha256(lines).hexdigest()


def normalised_entry_path(name: str) -> str | None:
    """A zip entry's path as the runtime sees the file: POSIX separators, no `./` or
    empty parts; None for a directory entry."""
    if name.endswith(("/", "\\")):
        return None
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts) or None


def content_digest(zip_bytes: bytes) -> str:
    """Hex SHA-256 over the package's files: each (normalised path, SHA-256 of contents),
    sorted by path. Ignores timestamps, modes, entry order, directory entries,
    compression and zip comments. Raises PackageError for something that is not a zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        raise PackageError(f"not a zip archive: {exc}") from exc
    contents: dict[str, bytes] = {}
    total = 0
    with archive:
        for info in archive.infolist():
            path = normalised_entry_path(info.filename)
            if path is None or info.is_dir():
                continue
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise PackageError(f"package unzips to more than {MAX_UNZIPPED_BYTES} bytes")
            contents[path] = archive.read(info)
    return _files_digest(contents)


def canonical_config(config: Mapping[str, Any]) -> bytes:
    return (
        json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode()


def _excluded_dir(name: str) -> bool:
    return name in EXCLUDED_DIRS or name.startswith(".")


def _excluded_file(name: str) -> bool:
    return (
        name.startswith(".")
        or name in EXCLUDED_FILES
        or name in EXCLUDED_DIRS  # e.g. a node_modules symlink
        or name.endswith(EXCLUDED_SUFFIXES)
    )


def shipped_files(folder: Path) -> list[str]:
    """POSIX paths (relative to folder, sorted) of the files the package ships."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        # Pruned in place so os.walk never descends into node_modules and friends.
        dirnames[:] = [d for d in dirnames if not _excluded_dir(d)]
        for d in dirnames:
            if (here / d).is_symlink():
                rel = (here / d).relative_to(folder).as_posix()
                raise PackageError(f"{rel}: symlinks are not packaged; copy the files instead")
        for name in filenames:
            if _excluded_file(name):
                continue
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise PackageError(f"{rel}: symlinks are not packaged; copy the file instead")
            if path.is_file():
                out.append(rel)
    return sorted(out)


def _check_runtime_dependencies(folder: Path) -> None:
    manifest = folder / "package.json"
    if not manifest.is_file():
        return
    deps = json.loads(manifest.read_text(encoding="utf-8")).get("dependencies") or {}
    if deps:
        raise PackageError(
            f"{manifest}: runtime dependencies {sorted(deps)} would need node_modules in the "
            "package, which is not shipped; the Node.js runtime provides AWS SDK v3, so list "
            "the SDK under devDependencies"
        )


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = _UNIX
    mode = 0o755 if name.rsplit("/", 1)[-1] in EXECUTABLE_NAMES else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    return info


def build_package(folder: Path | str, config: Mapping[str, Any] | None) -> LambdaPackage:
    """Zip the shipped files of `folder` plus the config.json, deterministically: the
    declared `config` in canonical form when it is not empty, else the folder's own
    config.json if it has one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackageError(f"{folder}: not a directory")
    _check_runtime_dependencies(folder)
    contents = {name: (folder / name).read_bytes() for name in shipped_files(folder)}
    local_config = folder / CONFIG_NAME
    if config:
        contents[CONFIG_NAME] = canonical_config(config)
    elif local_config.is_file() and not local_config.is_symlink():
        contents[CONFIG_NAME] = local_config.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(contents):
            archive.writestr(_entry(name), contents[name])
    data = buffer.getvalue()
    return LambdaPackage(
        zip_bytes=data,
        code_sha256=code_sha256(data),
        files=tuple(sorted(contents)),
        content_digest=_files_digest(contents),
    )
