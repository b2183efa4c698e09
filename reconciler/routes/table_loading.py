"""RoutingTable items, inline and from bulk files, checked and keyed by primary key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.routes.bulk_items import BULK_SUFFIXES, read_bulk_file
from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.data_kinds import RoutingTable
from reconciler.routes.items import Item, ItemKey, ItemRules, check_item, describe_key
from reconciler.routes.repo_paths import PathProblem, check_relative
from reconciler.routes.source_files import UNREADABLE, FileProblem, WalkEntry, read_source

# (attribute or "", message, code): where the problem is depends on where the item came from.
_Reporter = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class ItemSource:
    file: str
    line: int


@dataclass(frozen=True)
class TableItems:
    items: dict[ItemKey, Item]
    sources: dict[ItemKey, ItemSource]
    bulk_files: tuple[str, ...]


def load_tables(ctx: CheckContext, max_bulk_file_bytes: int) -> dict[str, TableItems]:
    """Items of every valid RoutingTable, by document name."""
    patterns = ctx.origin_patterns
    loaded: dict[str, TableItems] = {}
    for table, doc in ctx.of_kind(RoutingTable):
        rules = ItemRules(
            table.spec.partition_key,
            table.spec.sort_key,
            tuple(table.spec.origin_attributes),
            patterns,
        )
        loaded[table.metadata.name] = _load_table(ctx, table, doc, rules, max_bulk_file_bytes)
    return loaded


def _load_table(
    ctx: CheckContext, table: RoutingTable, doc: ValidDocument, rules: ItemRules, max_bytes: int
) -> TableItems:
    items: dict[ItemKey, Item] = {}
    sources: dict[ItemKey, ItemSource] = {}

    def add(item: Item, source: ItemSource, report: _Reporter) -> None:
        key, problems = check_item(item, rules)
        for problem in problems:
            report(problem.attribute, problem.message, problem.code)
        if key is None:
            return
        first = sources.get(key)
        if first is not None:
            report(
                "",
                f"duplicate item ({describe_key(rules, key)}), first at {first.file}:{first.line}",
                "item-duplicate",
            )
            return
        items[key] = item
        sources[key] = source

    for index, item in enumerate(table.spec.items):
        path = ("spec", "items", index)
        pos = doc.position(path)
        add(item, ItemSource(doc.source.file, pos.line), _inline_reporter(ctx, doc, path))
    bulk_files = _bulk_files(ctx, table, doc)
    for bulk in bulk_files:
        try:
            data = read_source(
                bulk.path, ctx.routes_dir, max_bytes, "bulk-too-large", "the routes folder"
            )
        except FileProblem as problem:
            if problem.code == "path-outside-root":
                # A link out of the routes folder is the pattern's problem: reported there.
                message = f"{ctx.link_name(bulk.path)} resolves outside the routes folder (symlink?)"
                ctx.error(bulk.doc, bulk.where, message, problem.code)
            else:
                ctx.sink.add(
                    ctx.link_name(bulk.path), 1, 1, "", _unreadable(problem, bulk), problem.code
                )
            continue
        file = ctx.relative(bulk.path)
        ctx.record_input(bulk.path, data)
        for row in read_bulk_file(data, file, rules, ctx.sink):
            add(row.item, ItemSource(file, row.line), _bulk_reporter(ctx, file, row.line))
    return TableItems(items, sources, tuple(ctx.relative(b.path) for b in bulk_files))


def _inline_reporter(
    ctx: CheckContext, doc: ValidDocument, path: tuple[str, str, int]
) -> _Reporter:
    def report(attribute: str, message: str, code: str) -> None:
        ctx.error(doc, (*path, attribute) if attribute else path, message, code)

    return report


def _bulk_reporter(ctx: CheckContext, file: str, line: int) -> _Reporter:
    def report(attribute: str, message: str, code: str) -> None:
        ctx.sink.add(file, line, 1, attribute, message, code)

    return report


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
