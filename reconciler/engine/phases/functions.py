"""Functions phase: each declared edge function's planned changes, in lifecycle order.

CloudFront Function: write DEVELOPMENT (create / update), TestFunction on DEVELOPMENT
(the gate's AWS half), publish LIVE. Lambda@Edge: check the role, write $LATEST (create /
update code / update configuration), publish a version of exactly the planned code. The
offline half of the gate ran before the pass wrote anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from reconciler.aws.errors import ConflictError, FatalError
from reconciler.core.functions import (
    DesiredCloudFrontFunction,
    DesiredLambdaFunction,
    ObservedCloudFrontFunction,
    ObservedLambdaFunction,
    short,
)
from reconciler.core.model import Action, Change, Phase, ResourceKind
from reconciler.engine.gate import FunctionTestFailed, testfunction_gate
from reconciler.engine.phases.context import ApplyContext

log = structlog.get_logger("reconciler.apply")


def run_functions(ctx: ApplyContext) -> None:
    planned = ctx.planned
    for fn in planned.functions.cloudfront:
        mine = _changes(ctx, ResourceKind.CLOUDFRONT_FUNCTION, fn.name)
        if mine:
            _cloudfront(ctx, fn, planned.observation.functions.cloudfront[fn.name], mine)
    for lam in planned.functions.lambdas:
        mine = _changes(ctx, ResourceKind.LAMBDA_FUNCTION, lam.name)
        if mine:
            _lambda(ctx, lam, planned.observation.functions.lambdas[lam.name], mine)


def _changes(ctx: ApplyContext, kind: ResourceKind, name: str) -> dict[Action, Change]:
    return {
        c.action: c
        for c in ctx.planned.plan.changes
        if c.phase is Phase.FUNCTIONS
        and c.address.kind is kind
        and c.address.container == name
        and c.address.key is None
    }


def _store_arn(ctx: ApplyContext, fn: DesiredCloudFrontFunction) -> str | None:
    store = ctx.planned.desired.sources.stores.get(fn.name)
    if store is None:
        return None
    arn = ctx.store_arns.get(store)
    if arn is None:  # the plan said "created by this pass" and the ensure phase did not
        raise ConflictError(f"store {store} of function {fn.name} does not exist; re-plan")
    return arn


def _cloudfront(
    ctx: ApplyContext,
    fn: DesiredCloudFrontFunction,
    seen: ObservedCloudFrontFunction,
    changes: dict[Action, Change],
) -> None:
    adapter = ctx.adapters.cloudfront_functions
    kvs_arn = _store_arn(ctx, fn)
    code = short(fn.code_sha256) or ""
    etag = seen.development.etag if seen.development else None
    if Action.CREATE in changes:
        ctx.ledger.wrote_candidate(ResourceKind.CLOUDFRONT_FUNCTION, fn.name, code)
        etag = adapter.create(fn, kvs_arn)
        ctx.applied(changes[Action.CREATE], "CreateFunction")
    elif Action.UPDATE in changes:
        if etag is None:
            raise ConflictError(f"cloudfront function {fn.name}: no DEVELOPMENT ETag; re-plan")
        ctx.ledger.wrote_candidate(ResourceKind.CLOUDFRONT_FUNCTION, fn.name, code)
        etag = adapter.update(fn, kvs_arn, etag)
        ctx.applied(changes[Action.UPDATE], "UpdateFunction")
    if Action.PUBLISH not in changes:
        return
    if etag is None:
        raise ConflictError(f"cloudfront function {fn.name}: no DEVELOPMENT ETag; re-plan")
    dev_etag = etag
    route_set = ctx.planned.desired.route_set
    declared = route_set.cloudfront_functions[fn.name].spec.tests
    figures = testfunction_gate(
        fn.name,
        code,
        ctx.planned.desired.sources.folders[fn.name],
        lambda event: adapter.test(fn.name, dev_etag, event),
        ctx.gate,
        route_set.path(declared) if declared else None,
    )
    log.info("gate.testfunction_passed", function=fn.name, code=code, compute=figures)
    adapter.publish(fn.name, dev_etag)
    ctx.published_cloudfront[fn.name] = ctx.planned.cloudfront_arns[fn.name]
    ctx.applied(changes[Action.PUBLISH], "PublishFunction")


def _lambda(
    ctx: ApplyContext,
    fn: DesiredLambdaFunction,
    seen: ObservedLambdaFunction,
    changes: dict[Action, Change],
) -> None:
    adapter = ctx.adapters.lambdas
    package = ctx.planned.desired.sources.packages[fn.name]
    # The plan compared hashes; uploading other bytes would publish unplanned code.
    if package.code_sha256 != fn.zip_sha256:
        raise FatalError(f"lambda {fn.name}: the package is not the one planned", "PackageMismatch")
    if Action.CREATE in changes:
        ctx.ledger.wrote_candidate(ResourceKind.LAMBDA_FUNCTION, fn.name, fn.zip_sha256[:12])
        adapter.create(fn, package.zip_bytes)
        ctx.applied(changes[Action.CREATE], "CreateFunction")
    code_written = Action.CREATE in changes
    if Action.UPDATE in changes:
        calls = _update_lambda(ctx, fn, seen, package.zip_bytes)
        code_written = "UpdateFunctionCode" in calls
        ctx.applied(changes[Action.UPDATE], *calls)
    if Action.PUBLISH in changes:
        # $LATEST holds our package, or (an adopted function) a package with the same files
        # under another CodeSha256: PublishVersion's precondition is what $LATEST holds.
        arn = adapter.publish(fn, None if code_written else seen.latest_sha256)
        ctx.lambda_versions[fn.name] = arn
        ctx.applied(changes[Action.PUBLISH], "PublishVersion")
        log.info("lambda_version.published", function=fn.name, arn=arn)


def _update_lambda(
    ctx: ApplyContext, fn: DesiredLambdaFunction, seen: ObservedLambdaFunction, zip_bytes: bytes
) -> Sequence[str]:
    adapter = ctx.adapters.lambdas
    resend = seen.last_update_status == "Failed"
    calls = []
    if resend or not fn.same_code(seen.latest_sha256, seen.latest_content_digest):
        ctx.ledger.wrote_candidate(ResourceKind.LAMBDA_FUNCTION, fn.name, short(fn.zip_sha256) or "")
        adapter.update_code(fn, zip_bytes)
        calls.append("UpdateFunctionCode")
    if resend or seen.latest_config != fn.config:
        adapter.update_configuration(fn)
        calls.append("UpdateFunctionConfiguration")
    return calls


__all__ = ["FunctionTestFailed", "run_functions"]
