"""The built-in git source and the revision reader work without a git CLI (the image has
none): dulwich clones and fetches shallow, hard-resets, cleans, and reads the revision of
a git-sync style linked work tree. The test repositories are made with the git CLI; the
code under test runs with PATH emptied."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.daemon.git_source import GitSource, GitSyncError
from reconciler.daemon.revision import read_revision
from tests.support.git import git as support_git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="makes repositories with git")
GIT = shutil.which("git") or "git"  # resolved before tests empty PATH


def git(*args: str, cwd: Path) -> str:
    return support_git(*args, cwd=cwd, executable=GIT)




def commit(author: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (author / name).parent.mkdir(parents=True, exist_ok=True)
        (author / name).write_text(text)
    git("add", "-A", cwd=author)
    git("commit", "--quiet", "-m", message, cwd=author)
    git("push", "--quiet", "origin", "HEAD:main", cwd=author)
    return git("rev-parse", "HEAD", cwd=author)


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, Path]:
    bare, author = tmp_path / "origin.git", tmp_path / "author"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    git("clone", "--quiet", str(bare), str(author), cwd=tmp_path)
    commit(author, {".gitignore": "node_modules/\n", "routes/a.yaml": "a: 1\n"}, "first")
    return bare, author


def test_clone_fetch_reset_and_clean_without_the_git_cli(
    origin: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty-path").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    bare, author = origin
    seen = []
    source = GitSource(str(bare), "main", tmp_path / "state" / "checkout", 1, seen.append)
    first = source.sync()
    assert first is not None and first.subject == "first" and seen == [first]
    tree = source.work_tree
    assert (tree / "routes/a.yaml").read_text() == "a: 1\n"
    # Local edits and untracked files go; ignored files (installed dependencies) stay.
    (tree / "routes/a.yaml").write_text("edited\n")
    (tree / "routes/stray.yaml").write_text("x: 1\n")
    (tree / "node_modules").mkdir()
    (tree / "node_modules/kept.js").write_text("1\n")

    second = commit(author, {"routes/a.yaml": "a: 2\n", "routes/b.yaml": "b: 1\n"}, "second")
    revision = source.sync()
    assert revision is not None and (revision.sha, revision.subject) == (second, "second")
    assert (tree / "routes/a.yaml").read_text() == "a: 2\n"
    assert (tree / "routes/b.yaml").exists() and not (tree / "routes/stray.yaml").exists()
    assert (tree / "node_modules/kept.js").exists()
    assert read_revision(tree / "routes") == revision
    # Shallow: the tip is fetched without its history.
    assert second in (tree / ".git/shallow").read_text().split()
    assert source.sync() == revision and len(seen) == 2  # no news, no callback


def test_a_missing_branch_is_a_sync_error(origin: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = origin
    with pytest.raises(GitSyncError, match="no branch 'release'"):
        GitSource(str(bare), "release", tmp_path / "co", 1).sync()


def test_credentials_stay_out_of_errors_and_off_the_disk(tmp_path: Path) -> None:
    source = GitSource("https://bot:s3cret@127.0.0.1:9/routes.git", "main", tmp_path / "co", 1)
    with pytest.raises(GitSyncError) as err:
        source.sync()
    assert "s3cret" not in str(err.value) and "127.0.0.1" in str(err.value)
    for path in (tmp_path / "co").rglob("*"):
        if path.is_file():
            assert b"s3cret" not in path.read_bytes(), path


def test_revision_of_a_git_sync_style_linked_work_tree(
    origin: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git-sync v4: /git holds the repository, each revision is `git worktree add`ed under
    # .worktrees/<sha>, and /git/current links to it.
    _, author = origin
    sha = git("rev-parse", "HEAD", cwd=author)
    worktree = tmp_path / "git/.worktrees" / sha
    git("worktree", "add", "--quiet", "--detach", str(worktree), sha, cwd=author)
    (tmp_path / "git/current").symlink_to(worktree)
    monkeypatch.setenv("PATH", str(tmp_path / "git"))  # no git from here on
    revision = read_revision(tmp_path / "git/current/routes")
    assert revision is not None and (revision.sha, revision.subject) == (sha, "first")
    assert read_revision(tmp_path) is None
