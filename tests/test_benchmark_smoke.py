"""The benchmarks must not rot: a quick run of each prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_data_benchmark_quick_run_meets_the_call_minimum() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/bench_data.py"), "--quick"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    rows = [line for line in out.splitlines() if line.startswith(("KVS", "DynamoDB"))]
    assert len(rows) == 12, out
    for row in rows:
        changes, calls, minimum, ratio = row[44:].split()[:4]
        if "converged" in row:
            assert (changes, calls, ratio) == ("0", "0", "0"), row  # zero writes
        else:
            assert ratio == "1.00" and calls == minimum, row
    assert "pure plan" in out
