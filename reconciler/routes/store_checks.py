"""KeyValueStore limits, counted the way CloudFront counts them, and origin values."""

from __future__ import annotations

import weakref

from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.data_kinds import KeyValueStore
from reconciler.routes.errors import RouteError
from reconciler.routes.limits import KVS_KEY_MAX_BYTES, KVS_STORE_MAX_BYTES, KVS_VALUE_MAX_BYTES
from reconciler.routes.origins import origin_problem

# Store name -> (the document checked, the origin patterns, its errors): a RouteSetLoader
# keeps it between loads; the same document object checked against the same patterns
# has the same errors (a 22k-entry store costs tens of milliseconds to check). The
# document is held weakly: an edited store's old document goes with its file's result.
StoreCheckCache = dict[
    str, tuple[weakref.ref[ValidDocument], tuple[str, ...] | None, tuple[RouteError, ...]]
]


def check_stores(ctx: CheckContext, cache: StoreCheckCache | None = None) -> None:
    patterns = ctx.origin_patterns
    checked: StoreCheckCache = {}
    for store, doc in ctx.of_kind(KeyValueStore):
        name = store.metadata.name
        found = (cache or {}).get(name)
        if found is not None and found[0]() is doc and found[1] == patterns:
            ctx.sink.errors.extend(found[2])
        else:
            with ctx.capture() as errors:
                _check_store(ctx, store, doc, patterns)
            found = (weakref.ref(doc), patterns, tuple(errors))
        checked.setdefault(name, found)
    if cache is not None:
        cache.clear()
        cache.update(checked)


def _check_store(
    ctx: CheckContext, store: KeyValueStore, doc: ValidDocument, patterns: tuple[str, ...] | None
) -> None:
    total = 0
    for key, value in store.spec.entries.items():
        path = ("spec", "entries", key)
        key_bytes, value_bytes = len(key.encode()), len(value.encode())
        total += key_bytes + value_bytes
        if not key:
            ctx.error(doc, path, "keys must not be empty", "kvs-key-invalid")
        if key_bytes > KVS_KEY_MAX_BYTES:
            ctx.error(
                doc,
                path,
                f"key is {key_bytes} bytes; the limit is {KVS_KEY_MAX_BYTES}",
                "kvs-key-too-long",
            )
        if value_bytes > KVS_VALUE_MAX_BYTES:
            ctx.error(
                doc,
                path,
                f"value is {value_bytes} bytes; the limit is {KVS_VALUE_MAX_BYTES}",
                "kvs-value-too-long",
            )
            continue
        problem = origin_problem(value, patterns)
        if problem is not None:
            ctx.error(doc, path, *problem)
    if total > KVS_STORE_MAX_BYTES:
        ctx.error(
            doc,
            ("spec", "entries"),
            f"entries total {total} bytes (keys + values); a store holds at most {KVS_STORE_MAX_BYTES}",
            "kvs-store-too-large",
        )
