"""The reconcile pass, in one package (docs/architecture.md walks one pass through it).

    desired.py   route set -> core values (+ a digest per container)
    observe.py   adapters -> one Observation (every AWS read of a pass; observation.py)
    planner.py   desired + Observation -> Plan (pure, no AWS call)
    gate.py      the test gate: offline before any write, TestFunction before a publish
    phases/      ensure+data, functions, wiring, prune, clean-up: what each one did
    run.py       the one pass: saved-plan check, one conflict bound, the report
    ledger.py    what the reconciler converged and wrote: drift vs new input vs its own
    cache.py     the last observation, kept between passes: a change costs O(change)
    report.py    PassReport, Outcome, Drift, Rejection
"""

from reconciler.engine.cache import Scope
from reconciler.engine.gate import FunctionTestFailed, GateSettings
from reconciler.engine.ledger import FileLedger, Ledger, MemoryLedger
from reconciler.engine.observation import Observation
from reconciler.engine.observe import Adapters
from reconciler.engine.planner import Planned
from reconciler.engine.report import Drift, Outcome, PassReport, Rejection
from reconciler.engine.run import MAX_CONFLICT_REPLANS, EngineSettings, Reconciler
from reconciler.engine.stale import StalePlan

__all__ = [
    "MAX_CONFLICT_REPLANS",
    "Adapters",
    "Drift",
    "EngineSettings",
    "FileLedger",
    "FunctionTestFailed",
    "GateSettings",
    "Ledger",
    "MemoryLedger",
    "Observation",
    "Outcome",
    "PassReport",
    "Planned",
    "Reconciler",
    "Rejection",
    "Scope",
    "StalePlan",
]
