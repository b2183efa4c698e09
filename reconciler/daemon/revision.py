"""The git commit the route files come from, when they live in a git work tree.

Read with dulwich (no git CLI in the image): the work tree containing the path, also a
linked work tree (git-sync publishes each revision as `git worktree`: a `.git` file
pointing into the main repository).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.objects import Commit
from dulwich.repo import Repo


@dataclass(frozen=True)
class Revision:
    sha: str
    subject: str

    def as_dict(self) -> dict[str, str]:
        return {"sha": self.sha, "subject": self.subject}


def commit_revision(repo: Repo, sha: bytes) -> Revision:
    commit = repo[sha]
    message = commit.message if isinstance(commit, Commit) else b""
    subject = message.decode("utf-8", "replace").split("\n", 1)[0].strip()
    return Revision(sha.decode("ascii"), subject)


def read_revision(path: Path) -> Revision | None:
    """HEAD of the work tree containing `path`; None when it is not in one (or unreadable)."""
    try:
        with Repo.discover(str(path)) as repo:
            return commit_revision(repo, repo.head())
    except (NotGitRepository, KeyError, OSError, ValueError):
        return None
