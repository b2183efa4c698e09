"""The ReconcilerPolicy an import writes: allow exactly the domains the origins live in.

Each origin allows `*.<its parent domain>` (premium-api.example.com -> *.example.com):
wide enough that a new tier on the same domain needs no policy change, narrow enough that
a typo in a domain name is still refused. A two-label origin is allowed as written.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.routes import ReconcilerPolicy

POLICY_NAME = "edge-routing"


def origin_patterns(origins: Iterable[str]) -> list[str]:
    patterns = set()
    for origin in origins:
        labels = origin.lower().split(".")
        patterns.add("*." + ".".join(labels[1:]) if len(labels) > 2 else origin.lower())
    return sorted(patterns)


def policy_document(origins: Iterable[str]) -> ReconcilerPolicy | None:
    patterns = origin_patterns(origins)
    if not patterns:
        return None
    return ReconcilerPolicy.model_validate(
        {"metadata": {"name": POLICY_NAME}, "spec": {"allowedOriginPatterns": patterns}}
    )
