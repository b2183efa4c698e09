"""Crash trials: SIGKILL `reconciler apply` at random points, recover, check the invariants.

    python benchmarks/crash_trials.py                  # 5 change sets x 11 trials = 55
    python benchmarks/crash_trials.py --trials 3 --seed 7

Each trial (tests/reliability/crash.py): baseline applied, then `python -m reconciler apply
--auto-approve` in a subprocess against the emulated AWS of this process, killed with
SIGKILL (its process group) before the i-th write lands, right after it landed, or at a
random delay after its first request; then one fresh pass in-process. Invariants: the pass
converges and a second plan is empty; every declared key and item is live with its
declared value; no request ever asked to delete a declared key or item; the distribution
is unchanged outside the owned fields; with prune off the planted undeclared key and item
are untouched; exactly one new Lambda version per code change.

Prints one line per trial, then the table: kills by phase per change set, outcomes of the
recovery pass, violations. Exit status 1 if any trial violated an invariant.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_SESSION_TOKEN="bench",
    AWS_DEFAULT_REGION="us-east-1",
)
os.environ.pop("AWS_PROFILE", None)

import structlog

from reconciler.sandbox.server import SandboxServer
from tests.reliability import crash

PHASES = (
    "plan (no write yet)",
    "stores+tables",
    "data",
    "functions",
    "publish->wiring",
    "wiring",
    "prune",
    "clean-up",
    "after the last write",
    "finished before the kill",
)

LABELS = dict(
    zip(
        PHASES,
        (
            "plan",
            "stores",
            "data",
            "functions",
            "pub->wire",
            "wiring",
            "prune",
            "clean-up",
            "after last",
            "not killed",
        ),
        strict=True,
    )
)
WIDTH = 10


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=11, help="trials per change set (default 11)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the kill points")
    args = parser.parse_args()

    # The in-process passes log every change; the table is what this script is for.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

    started = time.monotonic()
    # TestFunction runs the code (the engine's gate needs an answer); see crash.ENGINE_SETTINGS.
    with SandboxServer() as server, tempfile.TemporaryDirectory() as tmp:

        def show(r: crash.TrialResult) -> None:
            mark = "ok" if not r.violations else "VIOLATION " + "; ".join(r.violations)
            print(
                f"{r.change_set:16} {r.phase:25} {r.detail:60} -> {r.recovery:10} {mark}",
                flush=True,
            )

        results = crash.campaign(server, Path(tmp), args.trials, args.seed, on_result=show)
    elapsed = time.monotonic() - started

    print()
    print("kills by phase (plan: before any write; pub->wire: a publish landed, the")
    print("UpdateDistribution not; after last: every write landed; not killed: it finished first)")
    print("and the recovery pass's outcome:")
    header = f"{'change set':16} {'trials':>6} " + " ".join(f"{LABELS[p]:>{WIDTH}}" for p in PHASES)
    print(header + f" {'applied':>8} {'no_changes':>10} {'violations':>10}")
    by_set: dict[str, list[crash.TrialResult]] = collections.defaultdict(list)
    for r in results:
        by_set[r.change_set].append(r)
    rows = [*by_set.items(), ("all", results)]
    for name, rs in rows:
        phases = collections.Counter(r.phase for r in rs)
        outcomes = collections.Counter(r.recovery for r in rs)
        bad = sum(1 for r in rs if r.violations)
        print(
            f"{name:16} {len(rs):6} "
            + " ".join(f"{phases.get(p, 0):{WIDTH}}" for p in PHASES)
            + f" {outcomes.get('applied', 0):8} {outcomes.get('no_changes', 0):10} {bad:10}"
        )
    kills = sum(1 for r in results if r.killed)
    print(
        f"\n{len(results)} trials, {kills} killed mid-apply, "
        f"{sum(1 for r in results if r.violations)} with violations, {elapsed:.0f} s"
    )
    return 1 if any(r.violations for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
