"""RoutingTable items, inline and from bulk files, checked and keyed by primary key.

Each source of items (the document's inline items, each bulk file) is read into a
Segment; the table is the segments put together in order, where a key seen twice is an
error at the second place. A TableCache (kept by a RouteSetLoader) remembers the
segments of the last load, so that a load after a small edit re-reads only the lines
that changed (bulk_reading.py) and puts the table together again with dict operations.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reconciler.routes.bulk_items import BULK_SUFFIXES
from reconciler.routes.bulk_reading import BulkFile
from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.data_kinds import RoutingTable
from reconciler.routes.errors import ErrorSink, RouteError
from reconciler.routes.items import Item, ItemKey, ItemRules, check_item, describe_key
from reconciler.routes.repo_paths import PathProblem, check_relative
from reconciler.routes.segments import ItemSource, LazyMapping, Segment, segment
from reconciler.routes.source_files import UNREADABLE, FileProblem, Source, WalkEntry
from reconciler.routes.yaml_reader import format_path

__all__ = ["ItemSource", "TableCache", "TableItems", "load_tables"]


@dataclass(frozen=True)
class TableItems:
    items: Mapping[ItemKey, Item]
    sources: Mapping[ItemKey, ItemSource]
    bulk_files: tuple[str, ...]
    # What declares the items: the document's own data and each bulk file's sha256, in
    # order. Equal digests, equal items (engine/desired.py's container digest).
    digest: str
    duplicates: tuple[RouteError, ...] = ()


@dataclass
class TableCache:
    """What the last load of one table (by document name) knew; see the module docstring."""

    rules: ItemRules | None = None
    inline: tuple[ValidDocument, Segment] | None = None
    document_digest: tuple[ValidDocument, str] | None = None
    bulk: dict[str, BulkFile] = field(default_factory=dict)
    last: tuple[tuple[Segment, ...], TableItems] | None = None
    # Values derived from this table's items by consumers (the engine's wire form), kept
    # as long as this cache: see LoadedTable.derived.
    derived: dict[str, Any] = field(default_factory=dict)


def load_tables(
    ctx: CheckContext, max_bulk_file_bytes: int, caches: dict[str, TableCache] | None = None
) -> dict[str, TableItems]:
    """Items of every valid RoutingTable, by document name. `caches` (by document name)
    is what earlier loads knew; it is updated, and tables no longer declared dropped."""
    patterns = ctx.origin_patterns
    caches = {} if caches is None else caches
    loaded: dict[str, TableItems] = {}
    for table, doc in ctx.of_kind(RoutingTable):
        rules = ItemRules(
            table.spec.partition_key,
            table.spec.sort_key,
            tuple(table.spec.origin_attributes),
            patterns,
        )
        cache = caches.setdefault(table.metadata.name, TableCache())
        if cache.rules != rules:
            cache.rules, cache.inline, cache.bulk, cache.last = rules, None, {}, None
        loaded[table.metadata.name] = _load_table(
            ctx, table, doc, rules, cache, max_bulk_file_bytes
        )
    for name in set(caches) - set(loaded):
        del caches[name]
    return loaded


def _load_table(
    ctx: CheckContext,
    table: RoutingTable,
    doc: ValidDocument,
    rules: ItemRules,
    cache: TableCache,
    max_bytes: int,
) -> TableItems:
    segments = [_inline_segment(ctx, table, doc, rules, cache)]
    files: list[tuple[str, str]] = []
    states: dict[str, BulkFile] = {}
    matches = _bulk_files(ctx, table, doc)
    for bulk in matches:
        file = ctx.relative(bulk.path)
        state = cache.bulk.get(file)
        if state is None or state.rules != rules:
            state = BulkFile(file, rules)
        source = Source(bulk.path, ctx.routes_dir, max_bytes, "bulk-too-large", "the routes folder")
        try:
            digest, read = state.read(source)
        except FileProblem as problem:
            if problem.code == "path-outside-root":
                # A link out of the routes folder is the pattern's problem: reported there.
                message = (
                    f"{ctx.link_name(bulk.path)} resolves outside the routes folder (symlink?)"
                )
                ctx.error(bulk.doc, bulk.where, message, problem.code)
            else:
                ctx.sink.add(
                    ctx.link_name(bulk.path), 1, 1, "", _unreadable(problem, bulk), problem.code
                )
            continue
        ctx.record_digest(bulk.path, digest)
        states[file] = state
        ctx.sink.errors.extend(read.errors)
        segments.append(read)
        files.append((file, digest))
    cache.bulk = states  # files no longer matched are forgotten
    names = tuple(ctx.relative(b.path) for b in matches)
    digest = _declaration_digest(doc, files, cache)
    result = _assemble(cache, tuple(segments), rules, names, digest)
    ctx.sink.errors.extend(result.duplicates)
    return result


def _declaration_digest(doc: ValidDocument, files: list[tuple[str, str]], cache: TableCache) -> str:
    if cache.document_digest is None or cache.document_digest[0] is not doc:
        # The document as parsed (variables substituted): schema, options, inline items.
        own = hashlib.sha256(repr(doc.source.data).encode()).hexdigest()
        cache.document_digest = (doc, own)
    digest = hashlib.sha256(f"document\0{cache.document_digest[1]}\n".encode())
    for file, file_digest in files:
        digest.update(f"bulk\0{file}\0{file_digest}\n".encode())
    return digest.hexdigest()


def _inline_segment(
    ctx: CheckContext, table: RoutingTable, doc: ValidDocument, rules: ItemRules, cache: TableCache
) -> Segment:
    if cache.inline is not None and cache.inline[0] is doc:
        found = cache.inline[1]
        ctx.sink.errors.extend(found.errors)
        return found
    keys: list[ItemKey | None] = []
    sources: list[ItemSource] = []
    places: list[tuple[str, int, int, str]] = []
    with ctx.capture() as errors:
        for index, item in enumerate(table.spec.items):
            path = ("spec", "items", index)
            pos = doc.position(path)
            key, problems = check_item(item, rules)
            for problem in problems:
                where = (*path, problem.attribute) if problem.attribute else path
                ctx.error(doc, where, problem.message, problem.code)
            keys.append(key)
            sources.append(ItemSource(doc.source.file, pos.line))
            places.append((doc.source.file, pos.line, pos.column, format_path(path)))
    found = segment(keys, list(table.spec.items), sources, tuple(errors), places.__getitem__)
    cache.inline = (doc, found)
    return found


def _assemble(
    cache: TableCache,
    segments: tuple[Segment, ...],
    rules: ItemRules,
    files: tuple[str, ...],
    digest: str,
) -> TableItems:
    """The segments in order; a key seen before is an error where it is seen again."""
    last = cache.last
    if (
        last is not None
        and len(last[0]) == len(segments)
        and all(a is b for a, b in zip(last[0], segments, strict=True))
        and last[1].digest == digest
        and last[1].bulk_files == files
    ):
        return last[1]  # the same segments: the same table (and the same mappings)
    filled = [s for s in segments if s.count]
    sink = ErrorSink()
    found = _whole(filled)
    if found is not None:
        items, sources = found
    else:
        items = {}
        by_source: dict[ItemKey, ItemSource] = {}
        for part in filled:
            _add_segment(part, items, by_source, rules, sink)
        sources = by_source
    result = TableItems(
        MappingProxyType(items), MappingProxyType(sources), files, digest, tuple(sink.errors)
    )
    cache.last = (segments, result)
    return result


def _whole(
    filled: list[Segment],
) -> tuple[dict[ItemKey, Item], Mapping[ItemKey, ItemSource]] | None:
    """The table when no key repeats (the usual case), without row-by-row work; None
    when one does. With one source of items, its mapping is the table's (shared between
    loads, never written to)."""
    if any(part.by_key is None for part in filled):
        return None
    parts = [(part.by_key or {}, part.sources) for part in filled]
    if len(filled) == 1 and filled[0].by_key is not None:
        return filled[0].by_key, LazyMapping(parts)
    items: dict[ItemKey, Item] = {}
    for part in filled:
        items.update(part.by_key or {})
    if len(items) != sum(part.count for part in filled):
        return None
    return items, LazyMapping(parts)


def _add_segment(
    part: Segment,
    items: dict[ItemKey, Item],
    sources: dict[ItemKey, ItemSource],
    rules: ItemRules,
    sink: ErrorSink,
) -> None:
    for index, (key, item) in enumerate(part.keyed_rows()):
        if key is None:
            continue
        first = sources.get(key)
        if first is not None:
            file, line, column, field_path = part.locate(index)
            message = (
                f"duplicate item ({describe_key(rules, key)}), first at {first.file}:{first.line}"
            )
            sink.add(file, line, column, field_path, message, "item-duplicate")
            continue
        items[key] = item
        sources[key] = part.sources[index]


@dataclass(frozen=True)
class _BulkMatch:
    path: Path
    pattern: str
    declared_at: str  # file:line of the itemsFrom entry that matched it
    doc: ValidDocument
    where: tuple[str, str, int]  # ("spec", "itemsFrom", index)


def _bulk_files(ctx: CheckContext, table: RoutingTable, doc: ValidDocument) -> list[_BulkMatch]:
    """Every path the table's globs match, once. Nothing matched is dropped in silence: a
    match is read later, and one that cannot be read (dangling, looping, a folder, a pipe,
    no permission) is an error naming it, never "no items"."""
    found: dict[str, _BulkMatch] = {}
    for index, pattern in enumerate(table.spec.items_from):
        where = ("spec", "itemsFrom", index)
        try:
            check_relative(pattern)
        except PathProblem as problem:
            ctx.error(
                doc, where, f"{problem} (patterns are relative to the routes folder)", problem.code
            )
            continue
        regex = re.compile(_pattern_regex(pattern))
        matches = [e for e in ctx.listing if regex.fullmatch(e.relative) and _is_match(e, pattern)]
        if not matches:
            ctx.error(
                doc,
                where,
                f"{pattern!r} matches no file under {ctx.relative(ctx.routes_dir)}/",
                "items-from-empty",
            )
        pos = doc.position(where)
        for match in matches:
            if match.path.suffix not in BULK_SUFFIXES:
                ctx.error(
                    doc,
                    where,
                    f"{ctx.link_name(match.path)}: bulk files are .jsonl or .csv",
                    "items-from-invalid",
                )
            else:
                found.setdefault(
                    _identity(match),
                    _BulkMatch(match.path, pattern, f"{doc.source.file}:{pos.line}", doc, where),
                )
    return list(found.values())


def _identity(entry: WalkEntry) -> str:
    # Two patterns (or two links) naming one file read it once.
    try:
        return str(entry.path.resolve(strict=True))
    except (OSError, RuntimeError):
        return entry.relative  # unreadable: reported once per name when read


def _is_match(entry: WalkEntry, pattern: str) -> bool:
    # `dir/**` means "everything below": the folders on the way are where to look, not
    # matches. Any other pattern that names a folder is reported when it is read.
    return not (entry.folder and pattern.endswith("**"))


def _unreadable(problem: FileProblem, match: _BulkMatch) -> str:
    matched = f"matched by itemsFrom {match.pattern!r} at {match.declared_at}"
    if problem.code == UNREADABLE:
        return f"bulk file cannot be read: {problem} ({matched})"
    return f"bulk file {problem} ({matched})"


def _pattern_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
