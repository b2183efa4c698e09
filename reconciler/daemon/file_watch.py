"""watchdog observers that turn file changes into `notify_change` calls.

Two things make this more than `observer.schedule(dir, recursive=True)`:

* Reading the route files (which every pass does) produces open/close events; only
  events that can change content count, and editor droppings and .git internals never do.
* git-sync publishes a revision by swapping a symlink (`ln -s rev2 tmp && mv -T tmp
  current`). inotify watches inodes, so a watch on `current` keeps watching rev1 forever.
  The watcher therefore also watches the directory holding each symlink on the way to the
  configured path and, when something there changes, resolves the path again and moves
  the recursive watch to the new target.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

log = structlog.get_logger("reconciler.daemon.watch")

# Content can only change through these; opened / closed-without-write / attribute
# events are left out at the source, which is also what keeps a pass from triggering
# the next one by reading the files.
CONTENT_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
# node_modules: installed tooling (git ignores it too); a resync still covers it.
IGNORED_DIRS = frozenset({".git", "__pycache__", ".idea", ".vscode", ".mypy_cache", "node_modules"})
IGNORED_NAMES = (
    "*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913",  # vim, emacs (4913: vim's write probe)
    "*.tmp", "*.part", "*.crdownload", ".*.kate-swp", ".DS_Store", "*.pyc",
)  # fmt: skip


def is_ignored(path: str) -> bool:
    parts = Path(path).parts
    if any(part in IGNORED_DIRS for part in parts):
        return True
    name = parts[-1] if parts else ""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED_NAMES)


def event_paths(event: FileSystemEvent) -> list[str]:
    paths = [os.fsdecode(event.src_path)]
    dest = getattr(event, "dest_path", "")
    if dest:
        paths.append(os.fsdecode(dest))
    return paths


class _Handler(FileSystemEventHandler):
    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self._on_event = on_event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._on_event(event)


class TreeWatch:
    """Watch one configured directory recursively, following symlinks by *path*."""

    def __init__(
        self, observer: BaseObserver, path: Path, on_change: Callable[[str], None]
    ) -> None:
        self.path = path
        self._observer = observer
        self._on_change = on_change
        self._lock = threading.Lock()
        self._watches: dict[tuple[str, bool], ObservedWatch] = {}
        self.target: Path | None = None
        self._content = _Handler(self._content_event)
        self._anchor = _Handler(self._anchor_event)

    def start(self) -> None:
        self.refresh(initial=True)

    def refresh(self, initial: bool = False) -> bool:
        """Resolve the path again; move the watches if a symlink now points elsewhere.
        Returns whether the target changed (and a change was reported).

        Runs only before the observer starts and then on the observer's dispatch thread
        (which holds the observer's lock): calling it from elsewhere could deadlock."""
        with self._lock:
            target = self.path.resolve() if self.path.exists() else None
            wanted: dict[tuple[str, bool], _Handler] = {}
            if target is not None:
                wanted[(str(target), True)] = self._content
            for anchor in self._anchors():
                wanted.setdefault((str(anchor), False), self._anchor)
            for key in set(self._watches) - set(wanted):
                self._unschedule(self._watches.pop(key))
            for key, handler in wanted.items():
                if key not in self._watches:
                    try:
                        self._watches[key] = self._observer.schedule(
                            handler, key[0], recursive=key[1], event_filter=CONTENT_EVENTS
                        )
                    except OSError as exc:  # vanished between resolve and schedule
                        log.warning("watch.schedule_failed", path=key[0], error=str(exc))
            moved = target != self.target
            previous, self.target = self.target, target
        if moved and not initial:
            log.info(
                "watch.target_changed", path=str(self.path), old=str(previous), new=str(target)
            )
            self._on_change(str(self.path))
        return moved and not initial

    def _anchors(self) -> list[Path]:
        """Directories whose entries decide where `path` leads: the parent of the path
        itself and of every symlink on the way to it."""
        anchors: list[Path] = []
        current = self.path.absolute()
        chain = [current, *current.parents]
        for node in chain:
            if node == self.path.absolute() or node.is_symlink():
                parent = node.parent
                # Resolve the parent: its own symlinks are anchored by their own parents.
                if parent.exists():
                    anchors.append(parent.resolve())
        return anchors

    def _unschedule(self, watch: ObservedWatch) -> None:
        # KeyError/OSError: the emitter already ended because its directory was deleted.
        with contextlib.suppress(KeyError, OSError):
            self._observer.unschedule(watch)

    def _content_event(self, event: FileSystemEvent) -> None:
        paths = event_paths(event)
        if all(is_ignored(p) for p in paths):
            return
        self._on_change(paths[-1])

    def _anchor_event(self, event: FileSystemEvent) -> None:
        self.refresh()


class FileWatcher:
    """The routes dir, the edge_functions dir and the suspend flag, one observer each.

    Separate observers because two trees can share an anchor directory (both have the
    repository root as parent) and watchdog keys watches by path: unscheduling one
    tree's anchor after a swap would silently unschedule the other's.
    """

    def __init__(self) -> None:
        self._observers: list[BaseObserver] = []
        self._trees: list[TreeWatch] = []

    def watch_tree(self, path: Path, on_change: Callable[[str], None]) -> TreeWatch:
        observer = Observer()
        self._observers.append(observer)
        tree = TreeWatch(observer, path, on_change)
        self._trees.append(tree)
        return tree

    def watch_file(self, path: Path, on_event: Callable[[], None]) -> None:
        """Events about one file (the suspend flag) in an existing directory."""
        name = path.name

        def handle(event: FileSystemEvent) -> None:
            if any(Path(p).name == name for p in event_paths(event)):
                on_event()

        observer = Observer()
        self._observers.append(observer)
        observer.schedule(
            _Handler(handle), str(path.parent), recursive=False, event_filter=CONTENT_EVENTS
        )

    def start(self) -> None:
        for tree in self._trees:
            tree.start()
        for observer in self._observers:
            observer.start()

    def alive(self) -> bool:
        return all(o.is_alive() for o in self._observers)

    def stop(self, timeout: float = 5.0) -> None:
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            if observer.is_alive():
                observer.join(timeout)
