"""The emulated states that last a while on AWS, and the switches that set how long.

AWS takes minutes to deploy a distribution, seconds to provision a KeyValueStore or to
settle a Lambda update, and hours to trim a stream. The sandbox counts reads instead of
time, so a test is deterministic and fast: "N reads" means the first N reads after the
change report the transitional state and later ones the settled state (distributions
keep their older reading: the N-th read reports Deployed). Every write response reports
the transitional state AWS reports there, whatever the switches say.

Each sandbox server has its own Switches; `WireHooks.reset()` (every test's fixture)
restores the defaults, and `/_sandbox/switches` (GET, POST) and `hooks.switches` change
them for one test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

NEVER = -1  # a read count that never runs out: the state stays until the switch changes


@dataclass
class Switches:
    # The read of a changed distribution (GetDistribution, GetDistributionConfig,
    # ListDistributions count) that first reports Deployed; the ones before say InProgress.
    distribution_deploy_reads: int = 2
    # Reads of a new KeyValueStore (control-plane Describe/List) that report PROVISIONING
    # before READY. CreateKeyValueStore's own answer always says PROVISIONING.
    kvs_provisioning_reads: int = 0
    # Reads of a Lambda function after CreateFunction / UpdateFunctionCode /
    # UpdateFunctionConfiguration that report State Pending / LastUpdateStatus InProgress.
    # The write's own answer always says so. NEVER: an update that does not settle.
    lambda_update_reads: int = 0
    # Seconds a GetFunction Code.Location URL stays valid (AWS: "up to 10 minutes").
    lambda_code_url_seconds: int = 600

    def update(self, **changes: Any) -> None:
        """Set some switches; unknown names and non-integers are refused, nothing is set."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown switches {unknown}; known: {sorted(known)}")
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < NEVER:
                raise ValueError(f"switch {name} takes an integer >= {NEVER}, not {value!r}")
        for name, value in changes.items():
            setattr(self, name, value)

    def restore_defaults(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, f.default)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def still_transitional(earlier_reads: int, reads: int) -> bool:
    """Whether a read reports the transitional state, after `earlier_reads` reads did."""
    return reads == NEVER or earlier_reads < reads
