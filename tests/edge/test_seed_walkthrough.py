"""The seed's own two functions, unchanged, declared in route files, reconciled into the
sandbox and driven through the local edge: the platform (harness, runtime SDK stand-in,
local edge) must run the blog's code as AWS does, without the code being adapted.

Subprocesses, as a user runs the commands: `reconciler smoke` starts its own emulated
AWS, and moto's backends are process-wide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.edge.seed_code import FIXTURE, SEED_DOCUMENT, raw_code, restored

REPO_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RECONCILER_"))}
SOURCES = ("edge_functions/tier-router/index.js", "edge_functions/tenant-router/index.mjs")


def _reconciler(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        env=REPO_ENV,
        timeout=timeout,
        check=False,
    )


def test_the_fixture_is_the_seeds_code_with_only_line_breaks_restored() -> None:
    for path, code, raw in zip(SOURCES, restored(), raw_code(), strict=True):
        on_disk = (FIXTURE / path).read_text()
        assert on_disk == code
        # Undo the restored breaks and the text is the seed's, character for character.
        assert on_disk.rstrip("\n").replace("\n", " ") == raw
        if SEED_DOCUMENT.is_file():  # shared/ beside the checkout
            assert raw in SEED_DOCUMENT.read_text()


def test_the_seeds_code_passes_its_test_events_offline() -> None:
    """The Lambda imports @aws-sdk/lib-dynamodb, which no package.json of the function
    provides: the harness's stand-in of the runtime SDK does."""
    assert not list(FIXTURE.rglob("package.json")) and not list(FIXTURE.rglob("node_modules"))
    done = _reconciler("test-functions", "--root", str(FIXTURE))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "6/6 tests passed, 0 static findings"


def test_the_seed_walkthrough_reconciled_and_smoked_through_the_local_edge(tmp_path: Path) -> None:
    """`reconciler smoke` without URLs: a seeded sandbox, the route files reconciled
    into it (the existing pass), a local edge, and the walkthrough's requests: basic on
    the default origin, standard and premium on the store's origins, a known tenant on
    its backend with the Host header set, an unknown tenant on the default origin."""
    repo = tmp_path / "walkthrough"
    shutil.copytree(FIXTURE, repo)
    done = _reconciler("smoke", "--routes-dir", str(repo / "routes"), "--root", str(repo))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    checks = {line.split(":")[0].split(" ", 1)[1].strip(): line for line in lines if line.startswith(("ok", "FAIL"))}
    assert all(line.startswith("ok") for line in checks.values()), lines
    assert "from basic-api.example.com" in checks["tier basic"]
    assert "from standard-api.example.com" in checks["tier standard"]
    assert "from premium-api.example.com" in checks["tier premium"]
    assert "from acme-backend.example.com Host acme-backend.example.com" in checks["tenant acme/1001"]
    assert "from basic-api.example.com Host basic-api.example.com" in checks["unknown tenant"]
    assert lines[-1].startswith("6/6 checks passed")
