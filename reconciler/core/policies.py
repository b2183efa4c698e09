"""Cache and origin request policies as listed: names <-> ids, resolved without AWS calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class UnknownPolicy(ValueError):
    """A route file names a policy that is not in the catalog."""


@dataclass(frozen=True)
class PolicyCatalog:
    """One kind of policy ("cache policy", "origin request policy"): managed ones first,
    so a custom policy that reuses a managed name does not shadow it."""

    kind: str
    by_name: Mapping[str, str] = field(default_factory=dict)  # name -> id

    def resolve(self, ref: str) -> str:
        """A route file's reference: an id, a name, or a managed name without "Managed-"."""
        if ref in self.by_name.values():
            return ref
        for name in (ref, f"Managed-{ref}"):
            if name in self.by_name:
                return self.by_name[name]
        known = ", ".join(sorted(self.by_name))
        raise UnknownPolicy(f"no {self.kind} named or with id {ref!r}; known: {known}")

    def name_of(self, policy_id: str | None) -> str | None:
        """The display name of an id (a plan shows names, not UUIDs); the id if unknown."""
        if policy_id is None:
            return None
        for name, known in self.by_name.items():
            if known == policy_id:
                return name.removeprefix("Managed-")
        return policy_id
