"""Bulk item files (JSONL, CSV) for tables too large to review as YAML.

JSONL: one JSON object per line, blank lines ignored; numbers are read as int or
Decimal, never float. CSV: a header row naming the attributes, then one item per record;
cells are text except key attributes of type N; an empty cell means "no attribute" (CSV
cannot tell an empty string from a missing value).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.routes.errors import ErrorSink
from reconciler.routes.items import Item, ItemRules
from reconciler.routes.text_positions import utf8_problem

BULK_SUFFIXES = (".jsonl", ".csv")


@dataclass(frozen=True)
class BulkRow:
    line: int
    item: Item


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]], shared: dict[str, str]) -> dict[str, Any]:
    # Equal strings are shared across lines: json's own key memo lasts one decode (one
    # line), so 100k rows would otherwise hold 100k copies of every attribute name and
    # of every repeated value (tiers, accounts, backends): ~45 MB at 100k rows.
    item = {
        shared.setdefault(k, k): shared.setdefault(v, v) if type(v) is str else v for k, v in pairs
    }
    if len(item) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return item


def read_bulk_file(data: bytes, file: str, rules: ItemRules, sink: ErrorSink) -> list[BulkRow]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        pos, message = utf8_problem(data, error)
        sink.add(file, pos.line, pos.column, "", message, "bulk-syntax")
        return []
    errors_before = len(sink.errors)
    if file.endswith(".csv"):
        rows = list(_read_csv(text, file, rules, sink))
    else:
        rows = list(_read_jsonl(text, file, sink))
    if not rows and len(sink.errors) == errors_before:
        # A file that declares nothing is more likely truncated (a failed checkout, a full
        # disk, an editor crash) than meant: with prune on, it would delete its tenants.
        sink.add(
            file,
            1,
            1,
            "",
            "bulk file declares no items (empty, or only a header); remove the file or the "
            "itemsFrom pattern if no items are meant",
            "bulk-empty",
        )
    return rows


def _read_jsonl(text: str, file: str, sink: ErrorSink) -> Iterator[BulkRow]:
    shared: dict[str, str] = {}
    decode = json.JSONDecoder(
        parse_float=Decimal, object_pairs_hook=lambda pairs: _no_duplicates(pairs, shared)
    ).decode
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = decode(line)
        except _DuplicateKey as error:
            sink.add(
                file,
                number,
                1,
                str(error),
                f"duplicate attribute {str(error)!r}",
                "bulk-duplicate-key",
            )
            continue
        except json.JSONDecodeError as error:
            sink.add(file, number, error.colno, "", f"invalid JSON: {error.msg}", "bulk-syntax")
            continue
        if not isinstance(item, dict):
            sink.add(
                file, number, 1, "", "each line must be a JSON object (one item)", "bulk-syntax"
            )
            continue
        yield BulkRow(number, item)


def _read_csv(text: str, file: str, rules: ItemRules, sink: ErrorSink) -> Iterator[BulkRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        sink.add(file, 1, 1, "", "a CSV file needs a header row", "bulk-syntax")
        return
    except csv.Error as error:
        sink.add(file, 1, 1, "", f"invalid CSV: {error}", "bulk-syntax")
        return
    if len(set(header)) != len(header) or "" in header:
        sink.add(file, 1, 1, "", "header names must be unique and non-empty", "bulk-syntax")
        return
    numeric = {attr.name for attr in rules.keys if attr.type == "N"}
    shared: dict[str, str] = {}  # equal cells share one string (see _no_duplicates)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            sink.add(file, start, 1, "", f"invalid CSV: {error}", "bulk-syntax")
            return
        line, start = start, reader.line_num + 1
        if not row:
            continue
        if len(row) != len(header):
            sink.add(
                file, line, 1, "", f"{len(row)} cells, the header has {len(header)}", "bulk-syntax"
            )
            continue
        item: Item = {}
        for name, cell in zip(header, row, strict=True):
            if cell == "":
                continue
            item[name] = _number(cell) if name in numeric else shared.setdefault(cell, cell)
        yield BulkRow(line, item)


def _number(cell: str) -> int | Decimal | str:
    # A cell that is not a number stays text, so the item check reports the type.
    try:
        return int(cell)
    except ValueError:
        try:
            value = Decimal(cell)
        except InvalidOperation:
            return cell
        return value if value.is_finite() else cell
