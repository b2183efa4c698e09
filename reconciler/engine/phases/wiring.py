"""Wiring and clean-up phases.

Wiring: one UpdateDistribution per distribution whose plan has changes, carrying the
config the plan observed with only the owned fields changed, under IfMatch = the ETag the
plan observed. What is written is what the plan showed, with one substitution: a Lambda
version published by this pass is wired by the ARN PublishVersion returned.

One event moves a distribution's ETag without changing its config: publishing a
CloudFront Function that the distribution uses re-deploys it. When this pass published
such a function, the phase reads the distribution again and, if the config is still the
one the plan observed, writes with the fresh ETag; any other difference is a conflict.
A 412 is a ConflictError: the pass re-plans, within its one bound.
"""

from __future__ import annotations

from dataclasses import replace

import structlog

from reconciler.aws.errors import ConflictError
from reconciler.core.model import Action, Phase, ResourceKind
from reconciler.core.wiring import DesiredDistribution, LambdaAssociation, apply_wiring, plan_wiring
from reconciler.engine.phases.context import ApplyContext

log = structlog.get_logger("reconciler.apply")


def run_wiring(ctx: ApplyContext) -> None:
    planned = ctx.planned
    planned_changes = [c for c in planned.plan.changes if c.phase is Phase.WIRING]
    for name, wanted in planned.wiring.items():
        mine = [c for c in planned_changes if c.address.container == name]
        if not mine:
            continue
        observed = planned.observation.distributions[name]
        desired = _with_published_versions(ctx, wanted)
        etag = observed.etag
        published = set(ctx.published_cloudfront.values())
        uses_published = any(
            arn in published
            for behavior in observed.behaviors.values()
            for arn in behavior.function_associations.values()
        )
        if uses_published:
            fresh = ctx.adapters.distributions.read(name, observed.id)
            if dict(fresh.config) != dict(observed.config):
                raise ConflictError(
                    f"distribution {name} ({observed.id}) changed since it was planned; re-plan",
                    "DistributionChanged",
                )
            etag = fresh.etag
        config = apply_wiring(observed.config, desired)
        ctx.adapters.distributions.update(name, observed.id, config, etag)
        written = plan_wiring(desired, observed).changes
        shown = {c.address: c for c in mine}
        ctx.changes.calls.update(["UpdateDistribution"])
        for change in written:
            # The plan's change (names, not ids), with the version really published.
            planned_change = shown.get(change.address, change)
            ctx.applied(replace(planned_change, after=_merged(planned_change.after, change.after)))


def _merged(shown: object, written: object) -> object:
    if not isinstance(shown, dict) or not isinstance(written, dict):
        return shown
    out = dict(shown)
    if "lambdaAssociations" in written:
        out["lambdaAssociations"] = written["lambdaAssociations"]
    return out


def _with_published_versions(ctx: ApplyContext, wanted: DesiredDistribution) -> DesiredDistribution:
    if not ctx.lambda_versions:
        return wanted
    predicted = {ctx.planned.lambda_arns.get(name): arn for name, arn in ctx.lambda_versions.items()}
    behaviors = []
    for behavior in wanted.behaviors:
        lambdas = {
            event: LambdaAssociation(predicted.get(arn, arn), body)
            for event, (arn, body) in behavior.lambda_associations.items()
        }
        behaviors.append(replace(behavior, lambda_associations=lambdas))
    return replace(wanted, behaviors=tuple(behaviors))


def run_cleanup(ctx: ApplyContext) -> None:
    """Old Lambda versions deleted; one CloudFront still replicates is left for a later pass."""
    for change in ctx.planned.plan.changes:
        if (
            change.phase is not Phase.CLEANUP
            or change.action is not Action.DELETE
            or change.address.kind is not ResourceKind.LAMBDA_FUNCTION
            or change.address.key is None
        ):
            continue
        if ctx.adapters.lambdas.delete_version(change.address.container, int(change.address.key)):
            ctx.applied(change, "DeleteFunction")
        else:
            ctx.changes.calls.update(["DeleteFunction"])
            ctx.changes.notes.append(
                f"lambda {change.address.container} version {change.address.key}: still "
                "replicated at the edge; deleted by a later pass"
            )
