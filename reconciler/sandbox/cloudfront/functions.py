"""CloudFront Functions' stages, status and checks, as AWS documents them.

moto 5.2.5 stores one code/config per function, ignores Stage and If-Match and has no
UpdateFunction, PublishFunction or TestFunction. Here each function has a DEVELOPMENT
stage (moto's own fields: what Create/UpdateFunction write) and, after the first
PublishFunction, a LIVE stage (state.Stage, kept on the same moto object).

Status, by the values AWS returns (the API reference types it as a plain string):
- UNPUBLISHED: never published. Source: the Terraform AWS provider's acceptance tests
  against AWS (internal/service/cloudfront/function_test.go, the `publish = false` step
  of the Publish test) and a real account's listing in turbot/steampipe-plugin-aws#1120.
- UNASSOCIATED: published, no cache behaviour uses it. Source: the same file (the basic
  test and the `publish = true` step) and the same listing.
- DEPLOYED: published and associated with a distribution. Source: the same file (the
  Associated test: "Apply the same configuration and it will move to DEPLOYED status"),
  the same listing, and hashicorp/terraform-provider-aws#49990 (the DEVELOPMENT stage of
  an associated function reports DEPLOYED).
- While an associated distribution deploys, AWS documents no separate value; the sandbox
  keeps DEPLOYED (gap: if AWS reports something transitional there, it is not emulated).
The status is one per function: both stages report the same value (steampipe's listing
shows a published function twice, DEVELOPMENT and LIVE, with one status).
"""

from __future__ import annotations

from typing import Any

from moto.cloudfront.models import CloudFrontBackend, CloudFrontFunction, random_id
from moto.core.utils import utcnow

from reconciler.sandbox.cloudfront import state
from reconciler.sandbox.cloudfront.errors import (
    FunctionInUse,
    FunctionSizeLimitExceeded,
    InvalidArgument,
    InvalidIfMatchVersion,
    NoSuchFunctionExists,
    PreconditionFailed,
)

DEVELOPMENT = "DEVELOPMENT"
LIVE = "LIVE"
MAX_CODE_BYTES = 10 * 1024
RUNTIMES = frozenset({"cloudfront-js-1.0", "cloudfront-js-2.0"})
KVS_RUNTIME = "cloudfront-js-2.0"

UNPUBLISHED = "UNPUBLISHED"
UNASSOCIATED = "UNASSOCIATED"
DEPLOYED = "DEPLOYED"


def stage_view(function: CloudFrontFunction, stage: str) -> state.Stage:
    """The stage's code/config/etag; LIVE before a publish does not exist (as on AWS)."""
    if stage == DEVELOPMENT:
        return state.Stage(
            function.code, function.config, function.etag, function.last_modified_time
        )
    live = state.live_stage(function)
    if live is None:
        raise NoSuchFunctionExists(function.name)
    return live


def status(backend: CloudFrontBackend, function: CloudFrontFunction) -> str:
    if not state.has_live_stage(function):
        return UNPUBLISHED
    return DEPLOYED if state.distributions_using(backend, function.arn) else UNASSOCIATED


def summary(backend: CloudFrontBackend, function: CloudFrontFunction, stage: str) -> dict[str, Any]:
    view = stage_view(function, stage)
    return {
        "Name": function.name,
        "Status": status(backend, function),
        "FunctionConfig": view.config,
        "FunctionMetadata": {
            "FunctionARN": function.arn,
            "Stage": stage,
            "CreatedTime": function.created_time,
            "LastModifiedTime": view.last_modified_time,
        },
    }


def code_bytes(code: Any) -> bytes:
    return code if isinstance(code, bytes) else str(code or "").encode()


def check_code(code: bytes) -> None:
    if len(code) > MAX_CODE_BYTES:
        raise FunctionSizeLimitExceeded(
            f"The function code is {len(code)} bytes; the maximum is {MAX_CODE_BYTES} bytes."
        )


def check_config(backend: CloudFrontBackend, config: dict[str, Any]) -> None:
    runtime = config.get("Runtime")
    if runtime not in RUNTIMES:
        raise InvalidArgument(f"Unsupported function runtime {runtime!r}.")
    block = config.get("KeyValueStoreAssociations") or {}
    stores = list(block.get("Items") or [])
    if int(block.get("Quantity", len(stores))) != len(stores):
        raise InvalidArgument("KeyValueStoreAssociations: Quantity does not match Items.")
    if not stores:
        return
    if len(stores) > 1:
        raise InvalidArgument("A function can be associated with at most one KeyValueStore.")
    if runtime != KVS_RUNTIME:
        raise InvalidArgument(f"KeyValueStore associations need runtime {KVS_RUNTIME}.")
    arn = stores[0].get("KeyValueStoreARN")
    if arn not in {s.arn for s in backend.key_value_stores.values()}:
        raise InvalidArgument(f"The KeyValueStore {arn} does not exist.")


def check_if_match(if_match: str | None, current: str, name: str) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != current:
        raise PreconditionFailed(
            f"The If-Match version {if_match} is not the current version of function {name}."
        )


def check_stage(stage: str | None) -> str:
    stage = stage or DEVELOPMENT
    if stage not in (DEVELOPMENT, LIVE):
        raise InvalidArgument(f"Stage must be {DEVELOPMENT} or {LIVE}, not {stage!r}.")
    return stage


def kvs_arn(config: dict[str, Any]) -> str | None:
    stores = (config.get("KeyValueStoreAssociations") or {}).get("Items") or []
    return str(stores[0]["KeyValueStoreARN"]) if stores else None


# -- the writes (the caller holds state.WRITE_LOCK) ----------------------------------


def update(
    backend: CloudFrontBackend,
    function: CloudFrontFunction,
    if_match: str | None,
    config: dict[str, Any],
    code: bytes,
) -> None:
    check_if_match(if_match, function.etag, function.name)
    check_code(code)
    check_config(backend, config)
    function.code, function.config = code, config
    function.etag, function.last_modified_time = random_id(), utcnow()


def publish(backend: CloudFrontBackend, function: CloudFrontFunction, if_match: str | None) -> None:
    # Only the DEVELOPMENT ETag publishes: the LIVE one fails once DEVELOPMENT has moved.
    check_if_match(if_match, function.etag, function.name)
    stage = state.Stage(function.code, dict(function.config), random_id(), utcnow())
    state.set_live_stage(function, stage)
    # Publishing redeploys every distribution that uses the function (new ETag).
    for distribution in state.distributions_using(backend, function.arn):
        state.mark_redeploying(distribution)


def delete(backend: CloudFrontBackend, function: CloudFrontFunction, if_match: str | None) -> None:
    check_if_match(if_match, function.etag, function.name)
    if state.distributions_using(backend, function.arn):
        raise FunctionInUse(
            f"Cannot delete the function {function.name} because it's attached to one or "
            "more cache behaviors."
        )
    del backend.functions[function.name]
