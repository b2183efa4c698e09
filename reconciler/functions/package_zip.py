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
  - dotfiles, package-lock.json, *.md, config.example.json,
  - config.json: the package always gets the one generated from the declared config.
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
EXCLUDED_SUFFIXES = (".md",)
EXECUTABLE_NAMES = frozenset({"bootstrap"})
CONFIG_NAME = "config.json"
_UNIX = 3  # "made by" system in the central directory; fixed so Windows builds agree


class PackageError(ValueError):
    """The folder cannot be packaged as it is (the message says what to change)."""


@dataclass(frozen=True)
class LambdaPackage:
    zip_bytes: bytes
    code_sha256: str
    files: tuple[str, ...]


def code_sha256(zip_bytes: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of the raw SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


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


def build_package(folder: Path | str, config: Mapping[str, Any]) -> LambdaPackage:
    """Zip the shipped files of `folder` plus `config` as config.json, deterministically."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackageError(f"{folder}: not a directory")
    _check_runtime_dependencies(folder)
    contents = {name: (folder / name).read_bytes() for name in shipped_files(folder)}
    contents[CONFIG_NAME] = canonical_config(config)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(contents):
            archive.writestr(_entry(name), contents[name])
    data = buffer.getvalue()
    return LambdaPackage(
        zip_bytes=data, code_sha256=code_sha256(data), files=tuple(sorted(contents))
    )
