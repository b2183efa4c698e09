"""Built-in git source: keep a local work tree at the tip of a remote branch.

Replaces a git-sync sidecar for simple set-ups. Shallow fetches and a hard reset: the
work tree is the daemon's own, local edits there are discarded, history is not kept.
The files it rewrites are seen by the file watcher like any other edit.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from reconciler.daemon.revision import Revision, git, read_revision
from reconciler.settings import redact_url

log = structlog.get_logger("reconciler.daemon.git")


class GitSyncError(RuntimeError):
    pass


class GitSource:
    def __init__(
        self,
        url: str,
        branch: str,
        work_tree: Path,
        interval: float,
        on_update: Callable[[Revision], None] = lambda _: None,
    ) -> None:
        self.url = url
        self.branch = branch
        self.work_tree = work_tree
        self.interval = interval
        self._on_update = on_update
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="git-source", daemon=True)
        self.revision: Revision | None = None
        self.last_error: str | None = None

    def sync(self) -> Revision | None:
        """Clone or fetch + hard reset; returns HEAD. Raises GitSyncError."""
        try:
            if (self.work_tree / ".git").exists():
                git("fetch", "--depth", "1", "--no-tags", "origin",
                    f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}",
                    cwd=self.work_tree)  # fmt: skip
                git("reset", "--hard", "--quiet", f"origin/{self.branch}", cwd=self.work_tree)
                # Untracked leftovers would otherwise be read as route files; ignored
                # files (e.g. installed node_modules) are kept.
                git("clean", "-fd", "--quiet", cwd=self.work_tree)
            else:
                self.work_tree.parent.mkdir(parents=True, exist_ok=True)
                git("clone", "--quiet", "--depth", "1", "--single-branch",
                    "--branch", self.branch, self.url, str(self.work_tree))  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise GitSyncError(redact_url((exc.stderr or str(exc)).strip())) from exc
        except (OSError, subprocess.SubprocessError) as exc:
            raise GitSyncError(redact_url(str(exc))) from exc
        revision = read_revision(self.work_tree)
        if revision != self.revision:
            old, self.revision = self.revision, revision
            log.info(
                "git.updated",
                url=redact_url(self.url),
                branch=self.branch,
                old=old.sha if old else None,
                new=revision.sha if revision else None,
                subject=revision.subject if revision else None,
            )
            if revision is not None:
                self._on_update(revision)
        self.last_error = None
        return revision

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except GitSyncError as exc:
                # Keep the last good checkout and try again next interval: a flaky remote
                # must not take the routing data down with it.
                self.last_error = str(exc)
                log.error("git.sync_failed", url=redact_url(self.url), error=str(exc))
            except Exception as exc:  # the poller must outlive surprises too
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("git.sync_crashed", url=redact_url(self.url))

    def alive(self) -> bool:
        return self._thread.is_alive() or not self._thread.ident
