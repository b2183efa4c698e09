"""RoutingTable items, inline and from bulk files, checked and keyed by primary key."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.routes.bulk_items import BULK_SUFFIXES, read_bulk_file
from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.data_kinds import RoutingTable
from reconciler.routes.items import Item, ItemKey, ItemRules, check_item, describe_key
from reconciler.routes.repo_paths import PathProblem, check_relative, inside

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
    for bulk_path in bulk_files:
        file = ctx.relative(bulk_path)
        size = bulk_path.stat().st_size
        if size > max_bytes:
            ctx.sink.add(
                file,
                1,
                1,
                "",
                f"bulk file is {size} bytes; the limit is {max_bytes}",
                "bulk-too-large",
            )
            continue
        data = bulk_path.read_bytes()
        ctx.record_input(bulk_path, data)
        for row in read_bulk_file(data, file, rules, ctx.sink):
            add(row.item, ItemSource(file, row.line), _bulk_reporter(ctx, file, row.line))
    return TableItems(items, sources, tuple(ctx.relative(p) for p in bulk_files))


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


def _bulk_files(ctx: CheckContext, table: RoutingTable, doc: ValidDocument) -> list[Path]:
    found: dict[Path, None] = {}
    for index, pattern in enumerate(table.spec.items_from):
        where = ("spec", "itemsFrom", index)
        try:
            check_relative(pattern)
        except PathProblem as problem:
            ctx.error(
                doc, where, f"{problem} (patterns are relative to the routes folder)", problem.code
            )
            continue
        matches = _glob_without_following_links(ctx.routes_dir, pattern)
        if not matches:
            ctx.error(
                doc,
                where,
                f"{pattern!r} matches no file under {ctx.relative(ctx.routes_dir)}/",
                "items-from-empty",
            )
        for match in matches:
            if not inside(ctx.routes_dir, match):
                ctx.error(
                    doc,
                    where,
                    f"{ctx.relative(match)} resolves outside the routes folder (symlink?)",
                    "path-outside-root",
                )
            elif match.suffix not in BULK_SUFFIXES:
                ctx.error(
                    doc,
                    where,
                    f"{ctx.relative(match)}: bulk files are .jsonl or .csv",
                    "items-from-invalid",
                )
            else:
                found.setdefault(match.resolve(), None)
    return list(found)


def _glob_without_following_links(base: Path, pattern: str) -> list[Path]:
    """Files under `base` matching `pattern` (`*`, `?`, `**/`), never descending into a
    symlinked directory: a link to `/` must not make validation walk the file system.
    A symlinked file still matches, and is then refused if it resolves outside."""
    regex = re.compile(_pattern_regex(pattern))
    found = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if regex.fullmatch(path.relative_to(base).as_posix()) and path.is_file():
                found.append(path)
    return sorted(found)


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
