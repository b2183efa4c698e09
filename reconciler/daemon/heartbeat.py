"""`pass.progress` while a pass runs: a line every `interval` seconds saying how long it
has run, how many AWS calls it made and which call was last (and how long ago), so a
pass waiting on a Lambda update, a throttled batch or a slow scan is not 30 s of silence.

The engine logs its own steps (`apply.progress` in the data phases); this covers every
wait the engine does not narrate, from outside, without touching the pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from reconciler.daemon.aws_calls import AwsCalls
from reconciler.daemon.worker import Worker

log = structlog.get_logger("reconciler.daemon")


class Heartbeat:
    def __init__(
        self,
        worker: Worker,
        calls: AwsCalls,
        interval: float,
        calls_at_start: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._worker = worker
        self._calls = calls
        self._interval = interval
        self._calls_at_start = calls_at_start
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pass-heartbeat", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _loop(self) -> None:
        announced: tuple[int, int] = (0, 0)  # (pass number, heartbeats logged for it)
        tick = min(1.0, self._interval / 2)
        while not self._stop.wait(tick):
            running = self._worker.running()
            if running is None:
                continue
            number, started, trigger, revision = running
            elapsed = self._clock() - started
            beats = int(elapsed // self._interval)
            done = announced[1] if announced[0] == number else 0
            if beats <= done:
                continue
            announced = (number, beats)
            last = self._calls.last
            log.info(
                "pass.progress",
                pass_number=number,
                trigger=trigger,
                revision=revision.id if revision else None,
                elapsed_seconds=round(elapsed, 1),
                aws_calls=self._calls.count - self._calls_at_start(),
                last_call=last.name if last else None,
                since_last_call_seconds=round(self._clock() - last.monotonic, 1) if last else None,
            )
