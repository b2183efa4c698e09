"""Reading what `reconciler sandbox` prints before it serves: `export NAME=value` lines."""

from __future__ import annotations

import shlex
import subprocess


def read_exports(proc: subprocess.Popen[str], last: str) -> dict[str, str]:
    """The exports up to and including `last` (values unquoted as a shell would); an
    AssertionError, with the process's stderr when captured, if it exits before."""
    assert proc.stdout is not None
    exports: dict[str, str] = {}
    for line in proc.stdout:
        if not line.startswith("export "):
            continue
        name, _, value = line.removeprefix("export ").strip().partition("=")
        words = shlex.split(value)
        exports[name] = words[0] if words else ""
        if name == last:
            return exports
    stderr = proc.stderr.read() if proc.stderr is not None else ""
    raise AssertionError(f"the sandbox exited before printing {last}: {stderr}")
