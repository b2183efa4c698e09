"""Names are identities: one document per (kind, name), one AWS resource per document."""

from __future__ import annotations

from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.data_kinds import RoutingTable
from reconciler.routes.distribution_kind import Distribution
from reconciler.routes.policy_kind import ReconcilerPolicy


def check_names(ctx: CheckContext) -> None:
    first: dict[tuple[str, str], ValidDocument] = {}
    duplicates: set[int] = set()
    for doc in ctx.documents:
        identity = (doc.model.kind, doc.name)
        if not _claim(
            ctx, first, identity, doc, ("metadata", "name"), f"{doc.model.kind} {doc.name!r}"
        ):
            duplicates.add(id(doc))
    tables: dict[tuple[str, str], ValidDocument] = {}
    for table, doc in ctx.of_kind(RoutingTable):
        if id(doc) in duplicates:
            continue  # already reported as a duplicate name
        path = ("spec", "tableName") if table.spec.table_name else ("metadata", "name")
        _claim(
            ctx,
            tables,
            ("table", table.table_name),
            doc,
            path,
            f"DynamoDB table {table.table_name!r}",
        )
    selectors: dict[tuple[str, str], ValidDocument] = {}
    for dist, doc in ctx.of_kind(Distribution):
        selector = dist.spec.selector
        field, value = next(
            (name, value)
            for name, value in (
                ("id", selector.id),
                ("alias", selector.alias),
                ("comment", selector.comment),
            )
            if value is not None
        )
        _claim(
            ctx,
            selectors,
            (field, value),
            doc,
            ("spec", "selector", field),
            f"distribution selector {field}={value!r}",
        )
    policies = [doc for _, doc in ctx.of_kind(ReconcilerPolicy)]
    for doc in policies[1:]:
        first_pos = policies[0].position(())
        ctx.error(
            doc,
            ("kind",),
            f"at most one ReconcilerPolicy per route set (first in {policies[0].source.file}:{first_pos.line})",
            "policy-duplicate",
        )


def _claim(
    ctx: CheckContext,
    seen: dict[tuple[str, str], ValidDocument],
    identity: tuple[str, str],
    doc: ValidDocument,
    path: tuple[str, ...],
    what: str,
) -> bool:
    """Record `doc` as the holder of `identity`; False (and an error) when it is taken."""
    earlier = seen.get(identity)
    if earlier is None:
        seen[identity] = doc
        return True
    pos = earlier.position(path)
    ctx.error(
        doc,
        path,
        f"{what} is already declared at {earlier.source.file}:{pos.line}",
        "name-duplicate",
    )
    return False
