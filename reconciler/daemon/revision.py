"""The git commit the route files come from, when they live in a git work tree."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Revision:
    sha: str
    subject: str

    def as_dict(self) -> dict[str, str]:
        return {"sha": self.sha, "subject": self.subject}


def git(*args: str, cwd: Path | None = None, timeout: float = 60.0) -> str:
    """Run the git CLI; raises CalledProcessError with git's own message on failure."""
    # safe.directory: in a container the work tree is often owned by another uid, and git
    # would refuse to read it; the daemon only reads and hard-resets its own checkout.
    result = subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout


def read_revision(path: Path) -> Revision | None:
    """HEAD of the work tree containing `path`; None when it is not in one (or git is missing)."""
    try:
        out = git("log", "-1", "--format=%H%x00%s", cwd=path, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    sha, _, subject = out.strip().partition("\x00")
    return Revision(sha, subject) if sha else None
