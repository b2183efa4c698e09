"""The one way tests and benchmarks start `reconciler run` as a separate process and read
what it says: JSON log events, /status, /metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)  # polling an observable from outside, as an operator would


def daemon_command(
    *args: str, log_level: str | None = None, prefix: Sequence[str] = ()
) -> list[str]:
    """`python -m reconciler --log-format json [--log-level L] run ARGS` (after `prefix`,
    e.g. setpriv to drop privileges)."""
    command = [*prefix, sys.executable, "-m", "reconciler", "--log-format", "json"]
    if log_level is not None:
        command += ["--log-level", log_level]
    return [*command, "run", *args]


def repo_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment with this checkout importable first."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


class DaemonProcess:
    """`reconciler run ARGS` with its log in `log_path`; HTTP on a free port."""

    def __init__(
        self,
        workdir: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        log_level: str | None = None,
        prefix: Sequence[str] = (),
        wait: bool = True,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "daemon.log"
        self._log = self.log_path.open("w")
        self.command = daemon_command(
            "--http-port", "0", *args, log_level=log_level, prefix=prefix
        )
        self.proc = subprocess.Popen(
            self.command,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=dict(env) if env is not None else repo_environment(),
        )
        self.http_url = ""
        self.sandbox_url: str | None = None
        self.edge_url: str | None = None
        if wait:
            self.wait_started()

    def wait_started(self, timeout: float = 60) -> dict[str, Any]:
        started: dict[str, Any] = wait_for(self._started, timeout, "daemon.started in the log")
        self.http_url = started["http_url"]
        self.sandbox_url = started.get("sandbox_url")
        self.edge_url = started.get("edge_url")
        return started

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                if name is None or event.get("event") == name:
                    out.append(event)
        return out

    def _started(self) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"daemon exited {self.proc.returncode}:\n{self.log_path.read_text()[-4000:]}"
            )
        return next(iter(self.events("daemon.started")), None)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.http_url + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def post(self, path: str, headers: Mapping[str, str] | None = None, body: bytes = b"") -> tuple[int, str]:
        request = urllib.request.Request(
            self.http_url + path, data=body, method="POST", headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.get("/status")[1]))

    def condition(self, kind: str) -> dict[str, Any]:
        return next(c for c in self.status()["conditions"] if c["type"] == kind)

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for family in text_string_to_metric_families(self.get("/metrics")[1]):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def passes(self, **labels: str) -> float:
        return self.metric("reconciler_passes_total", **labels)

    def idle(self) -> bool:
        return self.status()["running"] is None

    def terminate(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
