"""The benchmarks must not rot: a quick run of each prints its table."""

from __future__ import annotations

import json
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


def test_scale_benchmark_quick_run_prints_its_table(tmp_path: Path) -> None:
    """benchmarks/scale.py --quick: every row of the table, writes at the physical minimum,
    a converged pass without writes. Timings are printed, never asserted."""
    rows_file = tmp_path / "rows.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/scale.py"), "--quick", "--json", str(rows_file)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    rows = json.loads(rows_file.read_text())
    for size in ("60", "300"):
        mine = {r["what"].split(" (")[0].split(":")[0]: r for r in rows if r["size"] == size}
        assert set(mine) == {
            "pure",
            "initial apply",
            "converged pass",
            "converged resync",
            "full resync after a restart",
            "observe only",
            "1% change",
            "single-tenant change",
            "single-tenant change, targeted pass",
            "daemon",
        }, out
        for what in ("initial apply", "converged pass", "1% change", "single-tenant change"):
            row = mine[what]
            for op in ("UpdateKeys", "BatchWriteItem"):
                assert row["ops"].get(op, 0) == row["minimum"][op], (what, op, out)
            if what != "initial apply":
                # A full read is at the minimum; a store whose ETag did not move since the
                # adapter's last read or write is not listed again (0 pages).
                assert row["ops"].get("ListKeys", 0) in (0, row["minimum"]["ListKeys"]), (what, out)
                # A table followed by its stream is not scanned again (issue 18).
                assert row["ops"].get("Scan", 0) in (0, row["minimum"]["Scan"]), (what, out)
        assert mine["converged pass"]["kvs_changes"] + mine["converged pass"]["ddb_changes"] == 0
        assert mine["1% change"]["baseline_writes"] >= 1
        resync = mine["converged resync"]["ops"]
        assert "Scan" not in resync and "ListKeys" not in resync and resync["GetRecords"] == 1, out
        targeted = mine["single-tenant change, targeted pass"]["ops"]
        reads = {op: n for op, n in targeted.items() if op != "BatchWriteItem"}
        assert reads == {"BatchGetItem": 1} and targeted["BatchWriteItem"] == 1, out
    assert "UpdateKeys" in out.splitlines()[0]
