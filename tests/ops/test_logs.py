"""reconciler/logs.py: every JSON log line reaches a pipe in one write, as the image runs
it (PYTHONUNBUFFERED=1, stderr a pipe read by the container engine's log collector)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Four threads log at once, lines of 100 bytes to 3.6 KB. Up to PIPE_BUF (4096 bytes) the
# kernel hands a reader a write whole; a longer line can reach a reader in pieces whatever
# the writer does (the engines mark those pieces partial and join them).
WRITER = """
import threading
import structlog
from reconciler.logs import configure_logging

configure_logging("json", "info")
log = structlog.get_logger("t")

def burst(n):
    for i in range(60):
        log.info("event", thread=n, i=i, pad="x" * (i * 97 % 3500))

threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def _read_chunks(env: dict[str, str]) -> list[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    chunks = []
    # A read larger than the pipe's capacity: a chunk ends where the writer's write did.
    while chunk := os.read(proc.stderr.fileno(), 1 << 20):
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    return chunks


def test_every_chunk_a_pipe_reader_sees_ends_on_a_line_break() -> None:
    chunks = _read_chunks({"PYTHONUNBUFFERED": "1"})
    assert len(chunks) > 1
    assert [c for c in chunks if not c.endswith(b"\n")] == []
    lines = b"".join(chunks).decode().splitlines()
    events = [json.loads(line) for line in lines]  # no glued or half objects
    assert len(events) == 240
    assert {(e["thread"], e["i"]) for e in events} == {(n, i) for n in range(4) for i in range(60)}


def test_a_stream_without_a_file_descriptor_still_gets_whole_lines() -> None:
    import io

    from reconciler.logs import LineLogger

    out = io.StringIO()
    LineLogger(out).msg('{"event": "x"}')
    assert out.getvalue() == '{"event": "x"}\n'
