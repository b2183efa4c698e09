"""The ReconcilerPolicy document: guard rails the operators set for their own route files."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from reconciler.routes.data_kinds import PruneGuard
from reconciler.routes.model_base import API_VERSION, Labels, LocalName, RouteModel

# `*.example.com`: `*` matches one or more labels; no scheme, port or path.
OriginPattern = Annotated[str, Field(pattern=r"^[A-Za-z0-9*?\[\]!.-]{1,253}$")]


class ReconcilerPolicyMetadata(RouteModel):
    name: LocalName
    labels: Labels = Field(default_factory=dict)


class ReconcilerPolicySpec(RouteModel):
    allowed_origin_patterns: Annotated[list[OriginPattern], Field(min_length=1)]
    prune_guard: PruneGuard = PruneGuard()


class ReconcilerPolicy(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["ReconcilerPolicy"] = "ReconcilerPolicy"
    metadata: ReconcilerPolicyMetadata
    spec: ReconcilerPolicySpec
