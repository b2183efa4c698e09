"""A long pass is not silence: `pass.progress` every `progress_interval` with the time it has
run and its AWS calls so far; nothing while idle; the revision on every line of a pass."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from reconciler.daemon.app import Daemon
from reconciler.daemon.revision import Revision
from reconciler.settings import DaemonSettings
from tests.daemon.scripted import FileDigestRunner


def test_a_long_pass_logs_progress_and_an_idle_daemon_does_not(tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    settings = DaemonSettings(
        routes_dir=routes,
        state_dir=tmp_path / "state",
        http_port=0,
        resync_interval=0,
        progress_interval=0.3,
    )
    runner = FileDigestRunner(routes, pass_seconds=1.2)
    daemon = Daemon(settings, runner, http=False)
    daemon.worker._revision_of = lambda: Revision("a" * 40, "s", dirty=True)
    with capture_logs() as logs:
        daemon.start()
        try:
            assert daemon.worker.wait_for_passes(1, 10)
            idle_from = len(logs)
            assert not daemon.worker.wait_for_passes(2, 0.8)
        finally:
            daemon.stop(5)
    progress = [e for e in logs if e["event"] == "pass.progress"]
    assert 3 <= len(progress) <= 4, progress
    assert [e["elapsed_seconds"] for e in progress] == sorted(e["elapsed_seconds"] for e in progress)
    assert all(e["pass_number"] == 1 and e["trigger"] == "startup" for e in progress)
    assert all(e["revision"] == "a" * 40 + "-dirty" and e["aws_calls"] == 0 for e in progress)
    assert not [e for e in logs[idle_from:] if e["event"] == "pass.progress"]
    started = next(e for e in logs if e["event"] == "pass.started")
    assert started["dirty"] is True
