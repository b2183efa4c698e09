"""One Observation: everything a pass read from AWS, as plain values (no client, no I/O).

The planner decides from this and the desired state alone, so it never imports an
adapter (an import-linter contract holds it to that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.core.functions import ObservedFunctions
from reconciler.core.policies import PolicyCatalog
from reconciler.core.state import ObservedData
from reconciler.core.wiring import ObservedDistribution


@dataclass(frozen=True)
class Observation:
    data: ObservedData
    functions: ObservedFunctions
    distributions: Mapping[str, ObservedDistribution]
    distribution_errors: Mapping[str, str] = field(default_factory=dict)  # name -> why unread
    cache_policies: PolicyCatalog = field(default_factory=lambda: PolicyCatalog("cache policy"))
    origin_request_policies: PolicyCatalog = field(
        default_factory=lambda: PolicyCatalog("origin request policy")
    )
    account_id: str = ""

    @property
    def store_arns(self) -> dict[str, str]:
        return {name: s.arn for name, s in self.data.stores.items() if s.arn}
