"""The revision a pass reports: HEAD, or `<sha>-dirty` when the route files or the edge
functions on disk differ from HEAD (edited, added, deleted, staged but not committed).
Ignored files (installed node_modules) and files outside those folders do not count. The
repositories are made with the git CLI; the code under test reads them with dulwich."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.daemon.revision import read_revision
from tests.support.git import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="makes repositories with git")




@pytest.fixture
def work(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    for name, text in {
        ".gitignore": "node_modules/\n",
        "README.md": "hello\n",
        "routes/tiers.yaml": "a: 1\n",
        "routes/tenants/t.jsonl": "{}\n",
        "edge_functions/f/index.js": "x\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git("add", "-A", cwd=root)
    git("commit", "--quiet", "-m", "first", cwd=root)
    return root


def revision(root: Path) -> tuple[str, bool]:
    rev = read_revision(root / "routes", [root / "edge_functions"])
    assert rev is not None
    return rev.id, rev.dirty


def test_a_clean_tree_is_head(work: Path) -> None:
    sha = git("rev-parse", "HEAD", cwd=work)
    assert revision(work) == (sha, False)
    rev = read_revision(work / "routes")
    assert rev is not None and rev.as_dict() == {
        "revision": sha,
        "sha": sha,
        "subject": "first",
        "dirty": False,
    }


@pytest.mark.parametrize(
    "change",
    [
        "edit a route file",
        "add a route file",
        "delete a route file",
        "edit an edge function",
        "stage an edit",
        "edit a bulk file",
    ],
)
def test_what_the_pass_reads_differs_from_head(work: Path, change: str) -> None:
    sha = git("rev-parse", "HEAD", cwd=work)
    if change == "edit a route file":
        (work / "routes/tiers.yaml").write_text("a: 2\n")
    elif change == "add a route file":
        (work / "routes/new.yaml").write_text("b: 1\n")
    elif change == "delete a route file":
        (work / "routes/tiers.yaml").unlink()
    elif change == "edit an edge function":
        (work / "edge_functions/f/index.js").write_text("y\n")
    elif change == "stage an edit":
        (work / "routes/tiers.yaml").write_text("a: 3\n")
        git("add", "-A", cwd=work)
    else:
        (work / "routes/tenants/t.jsonl").write_text('{"a": 1}\n')
    assert revision(work) == (f"{sha}-dirty", True)
    rev = read_revision(work / "routes", [work / "edge_functions"])
    assert rev is not None and rev.as_dict()["sha"] == sha and rev.as_dict()["dirty"] is True


def test_what_the_pass_does_not_read_keeps_it_clean(work: Path) -> None:
    sha = git("rev-parse", "HEAD", cwd=work)
    (work / "README.md").write_text("changed\n")  # outside routes/ and edge_functions/
    (work / "edge_functions/f/node_modules").mkdir()  # ignored: installed dependencies
    (work / "edge_functions/f/node_modules/dep.js").write_text("1\n")
    os.utime(work / "routes/tiers.yaml")  # touched, same content
    assert revision(work) == (sha, False)


def test_committing_makes_it_clean_again(work: Path) -> None:
    (work / "routes/tiers.yaml").write_text("a: 2\n")
    assert revision(work)[1] is True
    git("commit", "--quiet", "-am", "second", cwd=work)
    assert revision(work) == (git("rev-parse", "HEAD", cwd=work), False)


def test_a_git_sync_linked_work_tree_is_clean_and_then_dirty(work: Path, tmp_path: Path) -> None:
    sha = git("rev-parse", "HEAD", cwd=work)
    linked = tmp_path / "git/.worktrees" / sha
    git("worktree", "add", "--quiet", "--detach", str(linked), sha, cwd=work)
    (tmp_path / "git/current").symlink_to(linked)
    current = tmp_path / "git/current"
    assert revision(current) == (sha, False)
    (linked / "routes/tiers.yaml").write_text("a: 9\n")
    assert revision(current) == (f"{sha}-dirty", True)


def test_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    assert read_revision(tmp_path / "routes") is None


def test_ignore_rules_apply_to_untracked_files_only(work: Path, tmp_path: Path) -> None:
    """As in git: a committed symlink named like an ignored directory (`node_modules`
    linked, a pattern `node_modules/`) and a committed file matching an ignore pattern
    are tracked; editing the tracked one makes the tree dirty."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    (work / "edge_functions/f/node_modules").symlink_to(target)
    (work / ".gitignore").write_text("node_modules/\n*.log\n")
    (work / "routes/kept.log").write_text("tracked although ignored\n")
    git("add", "-A", cwd=work)
    git("add", "-f", "routes/kept.log", cwd=work)
    git("commit", "--quiet", "-m", "a link and a forced file", cwd=work)
    sha = git("rev-parse", "HEAD", cwd=work)
    assert revision(work) == (sha, False)
    (work / "routes/kept.log").write_text("edited\n")
    assert revision(work) == (f"{sha}-dirty", True)
    (work / "routes/kept.log").write_text("tracked although ignored\n")
    (work / "routes/untracked.log").write_text("ignored and untracked\n")
    assert revision(work) == (sha, False)
