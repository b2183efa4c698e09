"""Bulk item files (JSONL, CSV) for tables too large to review as YAML: the parsing rules.

JSONL: one JSON object per line, blank lines ignored; numbers are read as int or
Decimal, never float. CSV: a header row naming the attributes, then one item per record;
cells are text except key attributes of type N; an empty cell means "no attribute" (CSV
cannot tell an empty string from a missing value).

These are the rules for one line or record; bulk_reading.py reads whole files with them
(and, between loads, re-reads only the lines that changed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciler.routes.errors import ErrorSink
from reconciler.routes.items import Item, ItemRules
from reconciler.routes.text_positions import utf8_problem

BULK_SUFFIXES = (".jsonl", ".csv")
EMPTY_FILE_MESSAGE = (
    "bulk file declares no items (empty, or only a header); remove the file or the "
    "itemsFrom pattern if no items are meant"
)

# A problem of one line, wherever the line is: (column, attribute or "", message, code).
LineProblem = tuple[int, str, str, str]
Decode = Callable[[str], Any]


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


def jsonl_decoder(shared: dict[str, str]) -> Decode:
    """A JSON decoder for item lines; `shared` interns strings across the lines it reads."""
    return json.JSONDecoder(
        parse_float=Decimal, object_pairs_hook=lambda pairs: _no_duplicates(pairs, shared)
    ).decode


def parse_jsonl_line(line: str, decode: Decode) -> Item | LineProblem | None:
    """One JSONL line (without its newline): the item, the problem, or None when blank."""
    if not line.strip():
        return None
    try:
        item = decode(line)
    except _DuplicateKey as error:
        return (1, str(error), f"duplicate attribute {str(error)!r}", "bulk-duplicate-key")
    except json.JSONDecodeError as error:
        return (error.colno, "", f"invalid JSON: {error.msg}", "bulk-syntax")
    if not isinstance(item, dict):
        return (1, "", "each line must be a JSON object (one item)", "bulk-syntax")
    return item


def csv_records(
    text: str, file: str, sink: ErrorSink
) -> tuple[tuple[str, ...] | None, Iterator[tuple[int, list[str]]]]:
    """The header (None when unusable, reported) and the records after it: (line, cells),
    records whose cell count differs from the header's reported and skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        sink.add(file, 1, 1, "", "a CSV file needs a header row", "bulk-syntax")
        return None, iter(())
    except csv.Error as error:
        sink.add(file, 1, 1, "", f"invalid CSV: {error}", "bulk-syntax")
        return None, iter(())
    if len(set(header)) != len(header) or "" in header:
        sink.add(file, 1, 1, "", "header names must be unique and non-empty", "bulk-syntax")
        return None, iter(())

    def records() -> Iterator[tuple[int, list[str]]]:
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
                message = f"{len(row)} cells, the header has {len(header)}"
                sink.add(file, line, 1, "", message, "bulk-syntax")
                continue
            yield line, row

    return tuple(header), records()


def csv_item(
    header: tuple[str, ...],
    row: list[str] | tuple[str, ...],
    numeric: set[str],
    shared: dict[str, str],
) -> Item:
    item: Item = {}
    for name, cell in zip(header, row, strict=True):
        if cell == "":
            continue
        item[name] = _number(cell) if name in numeric else shared.setdefault(cell, cell)
    return item


def numeric_attributes(rules: ItemRules) -> set[str]:
    return {attr.name for attr in rules.keys if attr.type == "N"}


def read_bulk_file(data: bytes, file: str, rules: ItemRules, sink: ErrorSink) -> list[BulkRow]:
    """Every item of one bulk file with its line; syntax problems go to `sink` (the item
    checks are the table's: table_loading.py)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        pos, message = utf8_problem(data, error)
        sink.add(file, pos.line, pos.column, "", message, "bulk-syntax")
        return []
    errors_before = len(sink.errors)
    rows: list[BulkRow] = []
    shared: dict[str, str] = {}  # equal cells share one string (see _no_duplicates)
    if file.endswith(".csv"):
        header, records = csv_records(text, file, sink)
        numeric = numeric_attributes(rules)
        for line, row in records:
            assert header is not None
            rows.append(BulkRow(line, csv_item(header, row, numeric, shared)))
    else:
        decode = jsonl_decoder(shared)
        for number, line_text in enumerate(text.split("\n"), start=1):
            parsed = parse_jsonl_line(line_text, decode)
            if isinstance(parsed, dict):
                rows.append(BulkRow(number, parsed))
            elif parsed is not None:
                column, attribute, message, code = parsed
                sink.add(file, number, column, attribute, message, code)
    if not rows and len(sink.errors) == errors_before:
        # A file that declares nothing is more likely truncated (a failed checkout, a full
        # disk, an editor crash) than meant: with prune on, it would delete its tenants.
        sink.add(file, 1, 1, "", EMPTY_FILE_MESSAGE, "bulk-empty")
    return rows


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
