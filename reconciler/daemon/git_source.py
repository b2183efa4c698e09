"""Built-in git source: keep a local work tree at the tip of a remote branch.

Replaces a git-sync sidecar for simple set-ups. Shallow fetches (depth 1) of the one
branch and a hard reset: the work tree is the daemon's own, local edits there are
discarded, history is not kept. The files it rewrites are seen by the file watcher like
any other edit.

Git is spoken by dulwich, in process: the image has no git CLI (nor the perl it pulls
in), and no repository configuration or hook is ever executed. HTTPS credentials come in
the URL (a secret); they are used for the fetch and never written to disk or logs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from dulwich import porcelain
from dulwich.client import default_urllib3_manager, get_transport_and_path
from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from reconciler.daemon.revision import Revision, commit_revision
from reconciler.settings import redact_url

log = structlog.get_logger("reconciler.daemon.git")

# A fetch running longer than this is wedged (a connection that never answers): /healthz
# fails, so the container is restarted. Every HTTP read has its own timeout besides.
SYNC_WEDGED_AFTER = 300.0
HTTP_TIMEOUT = 60.0


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
        self._wake = threading.Event()  # a fetch now (webhook, POST /reconcile)
        self._waiters: list[Callable[[], None]] = []
        self._waiters_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="git-source", daemon=True)
        self.revision: Revision | None = None
        self.last_error: str | None = None
        self._syncing_since: float | None = None
        self._clock = time.monotonic

    def sync(self) -> Revision | None:
        """Fetch the branch tip (depth 1), hard-reset the work tree to it; returns it.
        Raises GitSyncError (its message has no credentials)."""
        self._syncing_since = self._clock()
        try:
            revision = self._fetch_and_reset()
        except Exception as exc:  # dulwich, urllib3 and the OS all raise their own
            raise GitSyncError(redact_url(f"{type(exc).__name__}: {exc}")) from exc
        finally:
            self._syncing_since = None
        if revision != self.revision:
            old, self.revision = self.revision, revision
            log.info(
                "git.updated",
                url=redact_url(self.url),
                branch=self.branch,
                old=old.sha if old else None,
                new=revision.sha,
                subject=revision.subject,
            )
            self._on_update(revision)
        self.last_error = None
        return revision

    def _fetch_and_reset(self) -> Revision:
        # dulwich types refs and ids as NewTypes of bytes; plain bytes here.
        ref: Any = f"refs/heads/{self.branch}".encode()
        remote_ref: Any = f"refs/remotes/origin/{self.branch}".encode()
        if (self.work_tree / ".git").exists():
            repo = Repo(str(self.work_tree))
        else:
            self.work_tree.mkdir(parents=True, exist_ok=True)
            repo = Repo.init(str(self.work_tree))
        with repo:
            http = self.url.startswith(("http://", "https://"))
            # dulwich takes the HTTP timeout through its urllib3 pool manager.
            options: dict[str, Any] = (
                {"pool_manager": default_urllib3_manager(None, timeout=HTTP_TIMEOUT)} if http else {}
            )
            client, path = get_transport_and_path(self.url, **options)
            wanted: list[Any] = []

            def determine_wants(refs: Any, depth: int | None = None) -> list[Any]:
                if ref not in refs:
                    raise GitSyncError(f"the remote has no branch {self.branch!r}")
                wanted.append(refs[ref])
                return [] if refs[ref] in repo.object_store else [refs[ref]]

            client.fetch(path, repo, determine_wants=determine_wants, depth=1)
            (sha,) = wanted
            repo.refs[remote_ref] = sha
            porcelain.reset(repo, "hard", sha)
            # Untracked leftovers would otherwise be read as route files; ignored files
            # (e.g. installed node_modules) are kept.
            porcelain.clean(repo, str(self.work_tree))
            return commit_revision(repo, sha)

    def has_checkout(self) -> bool:
        """A work tree with a commit checked out (an earlier successful sync). A `.git`
        alone is not one: a first clone that failed leaves an empty repository behind."""
        try:
            with Repo(str(self.work_tree)) as repo:
                repo.head()
                return True
        except (NotGitRepository, KeyError, OSError):
            return False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def request_sync(self, then: Callable[[], None]) -> None:
        """Fetch now (not at the next interval), then call `then` (whether the fetch
        worked or not: the pass it requests reports a failed fetch in /status). Requests
        that arrive while a fetch is queued share it."""
        with self._waiters_lock:
            self._waiters.append(then)
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            self._wake.clear()
            with self._waiters_lock:
                waiters, self._waiters = self._waiters, []
            self._sync_logged()
            for then in waiters:
                try:
                    then()
                except Exception:  # a waiter's bug must not stop the poller
                    log.exception("git.waiter_failed")

    def _sync_logged(self) -> None:
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

    def healthy(self) -> tuple[bool, str]:
        """For /healthz: the poller runs and no fetch is wedged. A remote that fails is not
        unhealthy (a restart would not fix it): that is `last_error` in /status."""
        if not self.alive():
            return False, "git source poller is not running"
        since = self._syncing_since
        if since is not None and self._clock() - since > SYNC_WEDGED_AFTER:
            return False, f"git source: a fetch has been running for over {SYNC_WEDGED_AFTER:.0f}s"
        return True, "ok"
