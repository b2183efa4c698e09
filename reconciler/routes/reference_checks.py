"""References between documents, and which code may run at which event."""

from __future__ import annotations

from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.distribution_kind import REQUEST_EVENTS, VIEWER_EVENTS, Distribution
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.limits import (
    LAMBDA_EDGE_VIEWER_MAX_MEMORY_MB,
    LAMBDA_EDGE_VIEWER_MAX_TIMEOUT_S,
)


def check_references(ctx: CheckContext) -> None:
    for function, doc in ctx.of_kind(CloudFrontFunction):
        store = function.spec.key_value_store
        if (
            store is not None
            and not ctx.incomplete
            and store not in ctx.declared.get("KeyValueStore", set())
        ):
            ctx.error(
                doc,
                ("spec", "keyValueStore"),
                f"no KeyValueStore named {store!r} is declared",
                "ref-unknown",
            )
    lambdas = {fn.metadata.name: fn for fn, _ in ctx.of_kind(LambdaEdgeFunction)}
    for dist, doc in ctx.of_kind(Distribution):
        seen_paths: dict[str, int] = {}
        for index, behavior in enumerate(dist.spec.behaviors):
            where = ("spec", "behaviors", index)
            if behavior.path in seen_paths:
                ctx.error(
                    doc,
                    (*where, "path"),
                    f"behavior {behavior.path!r} is already declared at spec.behaviors[{seen_paths[behavior.path]}]",
                    "behavior-duplicate",
                )
            seen_paths.setdefault(behavior.path, index)
            for event, assoc in behavior.associations().items():
                if assoc.function is not None:
                    _check_function_ref(
                        ctx, doc, (*where, event, "function"), event, assoc.function
                    )
                elif assoc.lambda_ is not None:
                    _check_lambda_ref(
                        ctx, doc, (*where, event), event, assoc.lambda_, assoc.include_body, lambdas
                    )


def _check_function_ref(
    ctx: CheckContext, doc: ValidDocument, path: tuple[str | int, ...], event: str, name: str
) -> None:
    if event not in VIEWER_EVENTS:
        ctx.error(
            doc,
            path,
            f"CloudFront Functions run only at viewer events (viewerRequest, viewerResponse), not {event}",
            "event-invalid",
        )
    if ctx.incomplete or name in ctx.declared.get("CloudFrontFunction", set()):
        return
    if name in ctx.declared.get("LambdaEdgeFunction", set()):
        ctx.error(
            doc,
            path,
            f"{name!r} is a LambdaEdgeFunction: write {{lambda: {name}}}",
            "ref-wrong-kind",
        )
    else:
        ctx.error(doc, path, f"no CloudFrontFunction named {name!r} is declared", "ref-unknown")


def _check_lambda_ref(
    ctx: CheckContext,
    doc: ValidDocument,
    path: tuple[str | int, ...],
    event: str,
    name: str,
    include_body: bool,
    lambdas: dict[str, LambdaEdgeFunction],
) -> None:
    if include_body and event not in REQUEST_EVENTS:
        ctx.error(
            doc,
            (*path, "includeBody"),
            f"includeBody applies to request events only, not {event}",
            "event-invalid",
        )
    if not ctx.incomplete and name not in ctx.declared.get("LambdaEdgeFunction", set()):
        if name in ctx.declared.get("CloudFrontFunction", set()):
            ctx.error(
                doc,
                (*path, "lambda"),
                f"{name!r} is a CloudFrontFunction: write {{function: {name}}}",
                "ref-wrong-kind",
            )
        else:
            ctx.error(
                doc,
                (*path, "lambda"),
                f"no LambdaEdgeFunction named {name!r} is declared",
                "ref-unknown",
            )
        return
    function = lambdas.get(name)
    if function is None or event not in VIEWER_EVENTS:
        return
    spec = function.spec
    if (
        spec.memory_size > LAMBDA_EDGE_VIEWER_MAX_MEMORY_MB
        or spec.timeout > LAMBDA_EDGE_VIEWER_MAX_TIMEOUT_S
    ):
        ctx.error(
            doc,
            (*path, "lambda"),
            f"{name!r} has memorySize {spec.memory_size} and timeout {spec.timeout}; at viewer events "
            f"Lambda@Edge allows at most {LAMBDA_EDGE_VIEWER_MAX_MEMORY_MB} MB and {LAMBDA_EDGE_VIEWER_MAX_TIMEOUT_S} s",
            "lambda-viewer-limits",
        )
