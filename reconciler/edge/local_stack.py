"""Everything on one laptop in this process: a started sandbox, reconciled, plus the edge.

Used by `reconciler smoke` without URLs and by the edge benchmark. The caller starts the
sandbox (reconciler.sandbox.start, seeded); the stack reconciles it and serves the edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from reconciler.aws.clients import AwsTarget
from reconciler.edge.server import LocalEdge, start_local_edge
from reconciler.engine.report import Outcome, PassReport

log = structlog.get_logger("reconciler.edge")

CONVERGED = frozenset({Outcome.APPLIED, Outcome.NO_CHANGES})
MAX_PASSES = 3


@dataclass
class LocalStack:
    sandbox: Any  # reconciler.sandbox.Sandbox (moto imported lazily)
    edge: LocalEdge
    passes: list[PassReport]

    @property
    def converged(self) -> bool:
        return bool(self.passes) and self.passes[-1].outcome in CONVERGED

    def stop(self) -> None:
        self.edge.stop()
        self.sandbox.stop()


def reconcile_until_converged(routes_dir: Path, root: Path, target: AwsTarget) -> list[PassReport]:
    """Passes until one converges (at most MAX_PASSES), like the daemon's retries."""
    from reconciler.engine import Reconciler

    reconciler = Reconciler(routes_dir, root, target)
    reports: list[PassReport] = []
    while len(reports) < MAX_PASSES:
        reports.append(reconciler.run_pass(dry_run=False))
        if reports[-1].outcome in CONVERGED:
            break
    return reports


def start_local_stack(routes_dir: Path, root: Path, sandbox: Any, edge_port: int = 0) -> LocalStack:
    """Reconcile `sandbox` (a started, seeded reconciler.sandbox.Sandbox, which the stack
    then owns and stops) and serve the edge over it."""
    try:
        target = AwsTarget(endpoint_url=sandbox.endpoint_url)
        passes = reconcile_until_converged(routes_dir, root, target)
        edge = start_local_edge(sandbox.endpoint_url, edge_port)
    except BaseException:
        sandbox.stop()
        raise
    return LocalStack(sandbox, edge, passes)
