"""The apply phases, in the order the design fixes: ensure (stores and tables exist), data,
functions (tested, then published), wiring, prune, clean-up. Each one sends exactly what
the plan says through the adapters and records, as each write lands, what it did."""

from reconciler.engine.phases.context import ApplyContext
from reconciler.engine.phases.data import run_data, run_prune
from reconciler.engine.phases.functions import run_functions
from reconciler.engine.phases.wiring import run_cleanup, run_wiring

__all__ = ["ApplyContext", "run_cleanup", "run_data", "run_functions", "run_prune", "run_wiring"]
