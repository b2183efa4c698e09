"""The git commit the route files come from, when they live in a git work tree.

Read with dulwich (no git CLI in the image): the work tree containing the path, also a
linked work tree (git-sync publishes each revision as `git worktree`: a `.git` file
pointing into the main repository).

A work tree whose route files or edge functions differ from HEAD (an edit not committed
yet, a file not added) is *dirty*: what a pass reads is then not the commit, and saying
"applied abc123" would be a lie. Its revision string is `<sha>-dirty`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dulwich.errors import NotGitRepository
from dulwich.ignore import IgnoreFilterManager
from dulwich.index import blob_from_path_and_stat
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Commit, Tree
from dulwich.repo import Repo

DIRTY_SUFFIX = "-dirty"


@dataclass(frozen=True)
class Revision:
    sha: str
    subject: str
    dirty: bool = False

    @property
    def id(self) -> str:
        """The revision string logs, metrics and notifications carry: the commit, or
        `<sha>-dirty` when the files read differ from it."""
        return self.sha + DIRTY_SUFFIX if self.dirty else self.sha

    def as_dict(self) -> dict[str, Any]:
        return {"revision": self.id, "sha": self.sha, "subject": self.subject, "dirty": self.dirty}


def commit_revision(repo: Repo, sha: bytes) -> Revision:
    commit = repo[sha]
    message = commit.message if isinstance(commit, Commit) else b""
    subject = message.decode("utf-8", "replace").split("\n", 1)[0].strip()
    return Revision(sha.decode("ascii"), subject)


def read_revision(path: Path, also: Sequence[Path] = ()) -> Revision | None:
    """HEAD of the work tree containing `path`; None when it is not in one (or unreadable).
    `dirty` when a file under `path` or `also` differs from HEAD (content, added, deleted;
    ignored files do not count)."""
    try:
        with Repo.discover(str(path)) as repo:
            head = repo.head()
            revision = commit_revision(repo, head)
            index: list[Any] = []  # opened once, on first need (a large repository's index)
            if any(_differs(repo, head, p, index) for p in (path, *also)):
                revision = Revision(revision.sha, revision.subject, dirty=True)
            return revision
    except (NotGitRepository, KeyError, OSError, ValueError):
        return None


def _differs(repo: Repo, head: bytes, path: Path, opened: list[Any]) -> bool:
    root = Path(repo.path).resolve()
    try:
        relative = path.resolve().relative_to(root)
    except ValueError:  # outside this work tree: not ours to judge
        return False
    committed = dict(_committed(repo, head, relative))
    on_disk = _on_disk(repo, root, relative, set(committed))
    if set(committed) != set(on_disk):
        return True
    if not opened:
        opened.append(repo.open_index())
    index = opened[0]
    for name, full in on_disk.items():
        st = os.lstat(full)
        entry = index[name] if name in index else None  # noqa: SIM401 (not a Mapping)
        if entry is not None and entry.sha == committed[name] and _stat_matches(entry, st):
            continue  # git's own shortcut: unchanged since the index last hashed it
        if blob_from_path_and_stat(bytes(full), st).id != committed[name]:
            return True
    return False


def _committed(repo: Repo, head: bytes, relative: Path) -> Iterator[tuple[bytes, bytes]]:
    commit = repo[head]
    assert isinstance(commit, Commit)
    tree_id = commit.tree
    for part in relative.parts:
        tree = repo[tree_id]
        assert isinstance(tree, Tree)
        name = part.encode()
        if name not in tree:
            return  # not in HEAD at all: everything on disk is new
        mode, tree_id = tree[name]
        if not stat.S_ISDIR(mode):
            return
    prefix = b"/".join(p.encode() for p in relative.parts)
    for entry in iter_tree_contents(repo.object_store, tree_id):
        if entry.path is None or entry.sha is None or stat.S_ISDIR(entry.mode or 0):
            continue
        if entry.mode is not None and stat.S_IFMT(entry.mode) == 0o160000:
            continue  # a submodule: its own revision
        yield (prefix + b"/" + entry.path if prefix else entry.path), entry.sha


def _on_disk(repo: Repo, root: Path, relative: Path, tracked: set[bytes]) -> dict[bytes, bytes]:
    """Files git would see under `relative`: tracked ones, and untracked ones that are not
    ignored (ignore rules apply to untracked files only, as in git). A symlink is a file
    to git, also one pointing at a directory. Repo path -> file system path."""
    ignored = IgnoreFilterManager.from_repo(repo)
    tracked_dirs = {b"/".join(t.split(b"/")[:i]) for t in tracked for i in range(1, t.count(b"/") + 1)}
    out: dict[bytes, bytes] = {}
    start = root / relative
    if not start.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(start):
        here = Path(dirpath).relative_to(root)
        kept = []
        for d in dirnames:
            rel = (here / d).as_posix()
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                if rel.encode() in tracked or not ignored.is_ignored(rel):
                    out[rel.encode()] = full.encode()
            elif d != ".git" and (rel.encode() in tracked_dirs or not ignored.is_ignored(rel + "/")):
                kept.append(d)
        dirnames[:] = kept
        for f in filenames:
            rel = (here / f).as_posix()
            if rel.encode() in tracked or not ignored.is_ignored(rel):
                out[rel.encode()] = os.path.join(dirpath, f).encode()
    return out


def _stat_matches(entry: Any, st: os.stat_result) -> bool:
    mtime = entry.mtime if isinstance(entry.mtime, tuple) else (int(entry.mtime), 0)
    return (
        entry.size == st.st_size
        and entry.ino == st.st_ino
        and mtime == (int(st.st_mtime), st.st_mtime_ns % 1_000_000_000)
    )
