"""CloudFront state the emulation adds to moto's objects, shared by its modules.

All added state lives on moto's own model objects (one attribute each), so
`POST /moto-api/reset` clears it with everything else. This module holds what both the
distribution and the function emulations need, so neither imports the other: the write
lock, the LIVE stage of a function, which distributions use a function, and the
distribution's deployment state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.cloudfront.models import (
    CloudFrontBackend,
    CloudFrontFunction,
    Distribution,
    random_id,
)

from reconciler.sandbox import context
from reconciler.sandbox.switches import still_transitional

# moto's server is threaded: an If-Match check and the write it guards must be one step,
# as on AWS, or two writers holding the same ETag could both succeed. Publishing a
# function writes distribution ETags too, so one lock covers distributions and functions.
WRITE_LOCK = threading.RLock()

_LIVE_ATTR = "_reconciler_live"


@dataclass(frozen=True)
class Stage:
    """One stage of a function: what UpdateFunction wrote, or what PublishFunction copied."""

    code: bytes
    config: dict[str, Any]
    etag: str
    last_modified_time: datetime


def live_stage(function: CloudFrontFunction) -> Stage | None:
    stage: Stage | None = getattr(function, _LIVE_ATTR, None)
    return stage


def set_live_stage(function: CloudFrontFunction, stage: Stage) -> None:
    setattr(function, _LIVE_ATTR, stage)


def has_live_stage(function: CloudFrontFunction) -> bool:
    return live_stage(function) is not None


def behaviours_of(distribution: Distribution) -> list[Any]:
    """The default cache behaviour and the others, as moto's model objects."""
    config = vars(distribution.distribution_config)
    return [config["DefaultCacheBehavior"], *(config["CacheBehaviors"].get("Items") or [])]


def distributions_using(backend: CloudFrontBackend, function_arn: str) -> list[Distribution]:
    """Distributions whose behaviours associate the CloudFront Function `function_arn`."""
    return [
        distribution
        for distribution in backend.distributions.values()
        if any(
            item["FunctionARN"] == function_arn
            for behaviour in behaviours_of(distribution)
            for item in (behaviour.function_associations.get("Items") or [])
        )
    ]


def mark_redeploying(distribution: Distribution) -> None:
    """A change was accepted: a new ETag, and InProgress until deployed again."""
    distribution.etag = random_id()
    distribution._tick = 0


def is_deployed(distribution: Distribution) -> bool:
    # moto's ManagedState counts reads in _tick (advance() on every Get/List); the switch
    # says which read first reports Deployed.
    reads = context.current().switches.distribution_deploy_reads
    return not still_transitional(distribution._tick, reads)
