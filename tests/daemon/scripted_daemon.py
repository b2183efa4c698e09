"""`python -m tests.daemon.scripted_daemon ROUTES STATE`: the real daemon shell (signals,
HTTP, watchers) around a scripted runner, for subprocess tests that must not depend on
the reconcile pass. Each pass writes `pass-<n>-started` / `-finished` markers to STATE.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from reconciler.daemon.app import Daemon, serve
from reconciler.engine.report import Outcome, PassReport
from reconciler.logs import configure_logging
from reconciler.settings import DaemonSettings
from tests.daemon.scripted import report


def main() -> int:
    routes, state, pass_seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    configure_logging("json")
    calls = [0]

    def runner(dry_run: bool, *, confirm: object = None, changed_only: bool = False) -> PassReport:
        calls[0] += 1
        n = calls[0]
        (state / f"pass-{n}-started").touch()
        time.sleep(pass_seconds)  # stands in for a pass's AWS round trips
        (state / f"pass-{n}-finished").touch()
        return report(Outcome.NO_CHANGES)

    settings = DaemonSettings(
        routes_dir=routes, state_dir=state, http_port=0, debounce=0.05, shutdown_timeout=10
    )
    daemon = Daemon(settings, runner)

    def started(d: Daemon) -> None:
        assert d.http is not None
        (state / "http-url.tmp").write_text(d.http.url)
        (state / "http-url.tmp").rename(state / "http-url")  # whole or absent for the test

    return serve(daemon, settings.shutdown_timeout, on_started=started)


if __name__ == "__main__":
    raise SystemExit(main())
