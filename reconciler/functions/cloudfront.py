"""CloudFront Functions, run offline in one persistent Node process.

The Node side (js/cf_server.mjs) gives every execution a fresh node:vm context with the
`cloudfront` module shim, no timers and no code generation from strings; this module
owns that process, speaks its JSON-lines protocol and restarts it if it dies (a memory
bomb in a function kills Node, not the caller).
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import json
import queue
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.functions.node import HarnessError, harness_script, node_executable

DEFAULT_TIMEOUT_MS = 200
# Slack on top of the in-Node timeout before the Python side gives up on the process.
_REPLY_GRACE_S = 10.0
# A function at the edge has 2 MB; Node gets far more but not unbounded. --no-lazy: V8
# compiles every function when the script is compiled (before the handler call, as the
# edge has the code compiled before a request), not on its first call inside the
# measured compute window.
_NODE_ARGS = ("--max-old-space-size=128", "--no-warnings", "--no-lazy")


@dataclass(frozen=True)
class Finding:
    """A static-check problem at a 1-based line and column of the function's source."""

    rule: str
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class Execution:
    """What one invocation did. `error` is None when the function ran to completion."""

    output: dict[str, Any] | None
    origin_changes: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    error: str | None = None
    # Rough 0-100 figure (CloudFront Functions only; None for Lambda@Edge). Not AWS's
    # formula: see docs/edge-functions.md.
    compute_utilization: int | None = None
    duration_ms: float = 0.0


class CloudFrontFunctionRunner:
    """Owns one Node process; use as a context manager. Safe to share between threads."""

    def __init__(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.timeout_ms = timeout_ms
        self._script = harness_script("cf_server.mjs")
        self._node = node_executable()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=50)

    def __enter__(self) -> CloudFrontFunctionRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        with self._lock:
            self._ensure_process()

    def close(self) -> None:
        with self._lock:
            self._stop_process()

    def check(self, code: str) -> list[Finding]:
        """Syntax, the 10 KB limit and features outside runtime 2.0, with positions."""
        raw = self._call({"op": "check", "code": code}, timeout_ms=5000)
        return [Finding(**f) for f in raw]

    def run(
        self,
        code: str,
        event: Mapping[str, Any],
        kvs_entries: Mapping[str, str] | None,
        *,
        kvs_fault: str | None = None,
        timeout_ms: int | None = None,
    ) -> Execution:
        """Invoke `handler(event)` once in a fresh context.

        kvs_entries None means no KeyValueStore is associated (cf.kvs() throws);
        kvs_fault makes every KVS call reject with that message (store unavailable).
        """
        timeout = timeout_ms or self.timeout_ms
        raw = self._call(
            {
                "op": "run",
                "code": code,
                "event": event,
                "kvs": dict(kvs_entries) if kvs_entries is not None else None,
                "kvsFault": kvs_fault,
                "timeoutMs": timeout,
            },
            timeout_ms=timeout,
        )
        return Execution(
            output=raw["output"],
            origin_changes=raw["originChanges"],
            logs=raw["logs"],
            error=raw["error"],
            compute_utilization=int(raw["computeUtilization"]),
            duration_ms=raw["elapsedMicros"] / 1000.0,
        )

    # -- process plumbing -------------------------------------------------------------

    def _call(self, request: dict[str, Any], timeout_ms: int) -> Any:
        with self._lock:
            proc = self._ensure_process()
            request_id = next(self._ids)
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps({"id": request_id, **request}) + "\n")
                proc.stdin.flush()
                line = self._replies.get(timeout=timeout_ms / 1000.0 + _REPLY_GRACE_S)
            except (BrokenPipeError, queue.Empty):
                line = None
            if line is None:
                stderr = "\n".join(self._stderr)
                self._stop_process()  # the next call starts a fresh one
                raise HarnessError(f"the Node harness died or hung; its stderr:\n{stderr}")
            reply = json.loads(line)
            if reply.get("id") != request_id:
                self._stop_process()
                raise HarnessError(f"out-of-order reply from the Node harness: {line[:200]}")
            if not reply["ok"]:
                raise HarnessError(f"the Node harness failed: {reply['error']}")
            return reply["result"]

    def _ensure_process(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop_process()
        self._replies = queue.Queue()
        proc = subprocess.Popen(
            [self._node, *_NODE_ARGS, str(self._script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        threading.Thread(target=self._pump_stdout, args=(proc, self._replies), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(proc,), daemon=True).start()
        self._proc = proc
        return proc

    @staticmethod
    def _pump_stdout(proc: subprocess.Popen[str], replies: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            replies.put(line)
        replies.put(None)  # EOF: the process is gone

    def _pump_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line.rstrip())

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the sandbox emulator's TestFunction runner ----------------------------------------

_shared: CloudFrontFunctionRunner | None = None
_shared_lock = threading.Lock()


def _shared_runner() -> CloudFrontFunctionRunner:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = CloudFrontFunctionRunner()
            atexit.register(_shared.close)
        return _shared


def execute_for_sandbox(
    code: str, event: dict[str, Any], kvs_entries: dict[str, str] | None
) -> dict[str, Any]:
    """TestFunction semantics for the emulated CloudFront: one run, AWS-shaped fields.

    Uses one process-wide runner (started on first use, stopped at exit). The compute
    figure is that one run's, as AWS reports one run: noise on a loaded machine is the
    caller's to handle (docs/edge-functions.md), not hidden here by picking a best run.
    """
    result = _shared_runner().run(code, event, kvs_entries)
    return {
        "output": result.output,
        "logs": list(result.logs),
        "error": result.error,
        "compute_utilization": result.compute_utilization or 0,
    }
