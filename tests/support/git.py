"""The git command line for tests that build repositories (the reconciler itself uses
dulwich and never runs git)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(*args: str, cwd: Path, executable: str | None = None) -> str:
    """Run git in `cwd` with a fixed identity; returns its stripped standard output."""
    command = executable or shutil.which("git") or "git"
    return subprocess.run(
        [command, *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **IDENTITY},
    ).stdout.strip()
