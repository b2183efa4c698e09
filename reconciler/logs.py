"""structlog set-up: JSON lines in a container, a readable console on a terminal.

Every event is written as one whole line in one write(2) (LineLogger): a log collector
that reads a pipe (podman's conmon, Docker's json-file driver, kubelet) sees each write
as a chunk, and structlog's PrintLogger (`print(line)`: the text, then the newline, two
writes when stderr is unbuffered as in the image) made it store half lines and glue the
next object to a blank one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, TextIO

import structlog

# One lock for every LineLogger: threads of the daemon share stderr.
_WRITE_LOCK = threading.Lock()


class LineLogger:
    """A structlog logger writing `message + "\\n"` to `file` in one write(2).

    Falls back to the stream's own write() when it has no file descriptor (pytest's
    capsys, io.StringIO).
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file

    def msg(self, message: str) -> None:
        line = message + "\n"
        with _WRITE_LOCK:
            try:
                fd = self._file.fileno()
            except (AttributeError, OSError, ValueError):
                self._file.write(line)
                self._file.flush()
                return
            # Text someone wrote through the stream itself goes out first, in order.
            self._file.flush()
            encoding = getattr(self._file, "encoding", None) or "utf-8"
            data = memoryview(line.encode(encoding, "backslashreplace"))
            while data:  # a pipe takes it in one write; a signal may cut it short
                data = data[os.write(fd, data) :]

    log = debug = info = warn = warning = error = critical = exception = fatal = failure = msg


class LineLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *_args: Any) -> LineLogger:
        return LineLogger(self._file)


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=LineLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
