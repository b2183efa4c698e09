"""Real watchdog on a tmp dir feeding a real worker."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.daemon.file_watch import FileWatcher, is_ignored
from reconciler.daemon.worker import Worker, WorkerConfig
from tests.daemon.scripted import ScriptedRunner

CONFIG = WorkerConfig(debounce=0.1, debounce_max=1.0, resync_interval=0)


class Rig:
    def __init__(self, watched: Path) -> None:
        self.runner = ScriptedRunner()
        self.worker = Worker(self.runner, CONFIG)
        self.watcher = FileWatcher()
        self.tree = self.watcher.watch_tree(watched, self.worker.notify_change)
        self.watcher.start()
        self.worker.start()
        assert self.worker.wait_for_passes(1, 5) and self.worker.wait_idle(5)

    def settle(self, passes: int) -> int:
        """Wait for at least `passes` passes, then for quiet; returns the passes seen."""
        assert self.worker.wait_for_passes(passes, 5), f"fewer than {passes} passes"
        assert self.worker.wait_idle(5)
        return self.worker.passes_finished

    def close(self) -> None:
        self.watcher.stop()
        self.worker.stop()
        self.worker.join(5)


@pytest.fixture
def rigs() -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        rig.close()


def test_burst_of_50_writes_makes_one_or_two_passes(tmp_path: Path, rigs: list[Rig]) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    rigs.append(rig := Rig(routes))
    for i in range(50):
        (routes / f"t{i % 5}.yaml").write_text(f"n: {i}\n")
    total = rig.settle(2)
    assert 2 <= total <= 3  # startup + 1..2 for the burst


def test_reading_files_and_editor_droppings_trigger_nothing(
    tmp_path: Path, rigs: list[Rig]
) -> None:
    routes = tmp_path / "routes"
    (routes / ".git").mkdir(parents=True)
    (routes / "a.yaml").write_text("a: 1\n")
    rigs.append(rig := Rig(routes))
    (routes / "a.yaml").read_text()  # every pass does this: must not cause the next one
    (routes / ".a.yaml.swp").write_text("x")
    (routes / "a.yaml~").write_text("x")
    (routes / "4913").write_text("")
    (routes / ".git" / "index.lock").write_text("x")
    assert not rig.worker.wait_for_passes(2, 0.4)
    # An atomic save (temp file renamed over the real one) does count.
    (routes / ".a.yaml.tmp").write_text("a: 2\n")
    os.replace(routes / ".a.yaml.tmp", routes / "a.yaml")
    assert rig.settle(2) == 2


def test_is_ignored() -> None:
    assert is_ignored("/r/routes/.git/objects/ab")
    assert is_ignored("/r/routes/.tiers.yaml.swp")
    assert is_ignored("/r/routes/#tiers.yaml#")
    assert not is_ignored("/r/routes/tiers.yaml")
    assert not is_ignored("/r/edge_functions/tier_router/index.js")


def test_git_sync_style_symlink_swap(tmp_path: Path, rigs: list[Rig]) -> None:
    """`ln -s rev2 tmp && mv -T tmp current`: the watch follows `current`, not rev1."""
    for rev in ("rev1", "rev2"):
        (tmp_path / rev / "routes").mkdir(parents=True)
        (tmp_path / rev / "routes" / "a.yaml").write_text(f"{rev}\n")
    (tmp_path / "current").symlink_to("rev1")
    rigs.append(rig := Rig(tmp_path / "current" / "routes"))
    assert rig.tree.target == (tmp_path / "rev1" / "routes").resolve()

    (tmp_path / "tmp").symlink_to("rev2")
    os.replace(tmp_path / "tmp", tmp_path / "current")  # rename(2) is what mv -T does
    assert rig.settle(2) == 2
    assert rig.tree.target == (tmp_path / "rev2" / "routes").resolve()

    shutil.rmtree(tmp_path / "rev1")  # git-sync removes the old worktree later
    (tmp_path / "rev2" / "routes" / "a.yaml").write_text("edited in rev2\n")
    assert rig.settle(3) == 3


def test_directory_created_after_start_is_picked_up(tmp_path: Path, rigs: list[Rig]) -> None:
    rigs.append(rig := Rig(tmp_path / "edge_functions"))
    assert rig.tree.target is None
    (tmp_path / "edge_functions").mkdir()
    assert rig.settle(2) == 2
    (tmp_path / "edge_functions" / "index.js").write_text("//\n")
    assert rig.settle(3) == 3


def test_flag_file_events(tmp_path: Path) -> None:
    seen = threading.Event()
    watcher = FileWatcher()
    watcher.watch_file(tmp_path / "suspend", seen.set)
    watcher.start()
    try:
        (tmp_path / "other").write_text("")
        assert not seen.wait(0.2)
        (tmp_path / "suspend").write_text("")
        assert seen.wait(5)
    finally:
        watcher.stop()
