"""One bulk item file -> a checked Segment, re-reading only what changed since the last read.

A `BulkFile` lives as long as the RouteSetLoader and belongs to one file and one set of
item rules. It remembers:

- the Segment of the last read, keyed by the file's sha256: the same bytes give the same
  Segment object (nothing is parsed or checked);
- for JSONL, every distinct line's parse and check (keyed by the line's bytes, so a
  line is never taken for another): after an edit only new lines are decoded and
  checked; the line number, which depends on the lines above, is applied afresh on
  every read. An unchanged line yields the same item object as before, which lets the
  engine keep its wire form (engine/desired.py). An edit that keeps every line in its
  place is patched into the last Segment (its mapping copied, the changed items put
  in). The file is hashed, then read in 1 MB chunks, never held whole;
- for CSV, the same per record (the file is parsed again, C code; records are
  checked again only when new, and only while the header is the same).

Whatever was remembered, a read gives exactly what a first read of the same bytes gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate, compress, count
from operator import attrgetter, is_not

from reconciler.routes.bulk_items import (
    EMPTY_FILE_MESSAGE,
    Decode,
    LineProblem,
    csv_item,
    csv_records,
    jsonl_decoder,
    numeric_attributes,
    parse_jsonl_line,
)
from reconciler.routes.errors import ErrorSink, RouteError
from reconciler.routes.items import Item, ItemKey, ItemRules, check_item
from reconciler.routes.segments import LineSources, Segment, segment
from reconciler.routes.source_files import Source
from reconciler.routes.text_positions import utf8_problem

_is_row = attrgetter("is_row")
_problems = attrgetter("problems")
_raw = attrgetter("raw")
_key = attrgetter("key")
_item = attrgetter("item")


class ParsedLine:
    """A line's (or CSV record's) item, key and problems, wherever in the file it is."""

    __slots__ = ("is_row", "item", "key", "problems", "raw")

    def __init__(
        self,
        raw: Hashable,
        item: Item | None,
        key: ItemKey | None,
        problems: tuple[LineProblem, ...],
    ) -> None:
        self.raw = raw
        self.is_row = item is not None
        self.item = item
        self.key = key
        self.problems = problems


class _NotUtf8(Exception):
    pass


class _LineMemo(dict[bytes, ParsedLine]):
    """Line bytes -> ParsedLine; a missing line is parsed and checked on lookup, so that
    looking up a whole file stays in C for every line seen before."""

    def __init__(self, rules: ItemRules) -> None:
        super().__init__()
        self.rules = rules
        # Strings shared among the lines new in one read; emptied after it (the items
        # keep what they use).
        self.shared: dict[str, str] = {}
        self.decode: Decode = jsonl_decoder(self.shared)

    def __missing__(self, raw: bytes) -> ParsedLine:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8 from None
        parsed = parse_jsonl_line(text, self.decode)
        self[raw] = line = _checked(raw, parsed, self.rules)
        return line


def _checked(raw: Hashable, parsed: Item | LineProblem | None, rules: ItemRules) -> ParsedLine:
    if parsed is None:
        return ParsedLine(raw, None, None, ())
    if not isinstance(parsed, dict):
        return ParsedLine(raw, None, None, (parsed,))
    key, problems = check_item(parsed, rules)
    if not problems:
        return ParsedLine(raw, parsed, key, ())
    return ParsedLine(
        raw, parsed, key, tuple((1, p.attribute, p.message, p.code) for p in problems)
    )


@dataclass
class BulkFile:
    """What one bulk file's last read knows (see the module's docstring)."""

    file: str  # relative to the repository root, as errors name it
    rules: ItemRules
    digest: str = ""
    last: Segment | None = None
    memo: _LineMemo | None = None
    records: dict[tuple[str, ...], ParsedLine] = field(default_factory=dict)
    header: tuple[str, ...] | None = None

    def knows(self, digest: str) -> bool:
        """The last read was of these bytes (by their sha256)."""
        return self.last is not None and digest == self.digest

    def read(self, source: Source) -> tuple[str, Segment]:
        """(sha256 of the bytes read, their segment). The file is hashed first, in
        chunks; only bytes not read before are parsed (JSONL in chunks too: a 100k-line
        file is never held whole). FileProblem as read_source."""
        previous = self.last
        digest = source.digest()
        if previous is not None and digest == self.digest:
            return digest, previous
        self.last = None  # a read that fails half-way must not leave the old one
        if self.file.endswith(".csv"):
            data = source.read()
            digest, result = hashlib.sha256(data).hexdigest(), self._read_csv(data)
        else:
            digest, result = self._read_jsonl(source, previous)
        self.digest, self.last = digest, result
        return digest, result

    def _read_jsonl(self, source: Source, previous: Segment | None) -> tuple[str, Segment]:
        memo = self.memo
        if memo is None:
            memo = self.memo = _LineMemo(self.rules)
        digest = hashlib.sha256()
        found: list[ParsedLine] = []
        carry = b""
        try:
            for chunk in source.chunks():
                digest.update(chunk)
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()  # the start of a line the next chunk ends
                found.extend(map(memo.__getitem__, lines))
            if carry:
                found.append(memo[carry])
        except _NotUtf8:
            data = source.read()  # the exact position needs the whole file
            return hashlib.sha256(data).hexdigest(), self._not_utf8(data)
        finally:
            memo.shared.clear()
        return digest.hexdigest(), self._jsonl_segment(found, previous)

    def _jsonl_segment(self, found: list[ParsedLine], previous: Segment | None) -> Segment:
        memo = self.memo
        assert memo is not None
        if len(memo) > len(found) + len(found) // 16 + 64:
            # Forget lines gone from the file (a few stale ones are kept between rebuilds).
            self.memo = memo = _LineMemo(self.rules)
            memo.update(zip(map(_raw, found), found, strict=True))
        patched = _patched(previous, found)
        if patched is not None:
            return patched
        errors = [
            RouteError(self.file, index + 1, column, attribute, message, code)
            for index in compress(count(), map(_problems, found))
            for column, attribute, message, code in found[index].problems
        ]
        mask = list(map(_is_row, found))
        numbers: Sequence[int]
        if all(mask):
            rows, numbers, row_of_line = found, range(1, len(found) + 1), None
        else:
            rows, numbers = list(compress(found, mask)), list(compress(count(1), mask))
            row_of_line = list(accumulate(mask, initial=0))  # rows before each line
        return self._segment(rows, numbers, errors, found, row_of_line)

    def _read_csv(self, data: bytes) -> Segment:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self._not_utf8(data)
        sink = ErrorSink()
        header, records = csv_records(text, self.file, sink)
        if header != self.header:
            self.records, self.header = {}, header
        memo = self.records
        found: dict[tuple[str, ...], ParsedLine] = {}
        numeric, shared = numeric_attributes(self.rules), dict[str, str]()
        rows: list[ParsedLine] = []
        lines: list[int] = []
        for line, cells in records:
            assert header is not None
            raw = tuple(cells)
            parsed = memo.get(raw) or found.get(raw)
            if parsed is None:
                item = csv_item(header, raw, numeric, shared)
                parsed = _checked(raw, item, self.rules)
            found[raw] = parsed
            rows.append(parsed)
            lines.append(line)
            for column, attribute, message, code in parsed.problems:
                sink.add(self.file, line, column, attribute, message, code)
        self.records = found  # records gone from the file are forgotten
        return self._segment(rows, lines, sink.errors)

    def _segment(
        self,
        rows: list[ParsedLine],
        numbers: Sequence[int],
        errors: list[RouteError],
        lines: list[ParsedLine] | None = None,
        row_of_line: list[int] | None = None,
    ) -> Segment:
        if not rows and not errors:
            # A file that declares nothing is more likely truncated (a failed checkout, a
            # full disk, an editor crash) than meant: with prune on, it would delete its
            # tenants.
            errors = [RouteError(self.file, 1, 1, "", EMPTY_FILE_MESSAGE, "bulk-empty")]
        file = self.file

        def locate(index: int) -> tuple[str, int, int, str]:
            return file, numbers[index], 1, ""

        return segment(
            list(map(_key, rows)),
            list(map(_item, rows)),
            LineSources(file, numbers),
            tuple(errors),
            locate,
            lines,
            row_of_line,
        )

    def _not_utf8(self, data: bytes) -> Segment:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            pos, message = utf8_problem(data, error)
            problem = RouteError(self.file, pos.line, pos.column, "", message, "bulk-syntax")
            return segment([], [], [], (problem,), lambda index: (self.file, 1, 1, ""))
        raise AssertionError("a line that is not UTF-8 in a file that is")  # pragma: no cover


def _patched(previous: Segment | None, found: list[ParsedLine]) -> Segment | None:
    """`previous` with the lines that changed put in, when that is what a full build
    gives: as many lines as before, and each changed line an item without problems,
    before and after, under the same key (an edit of an item's values). None otherwise.

    The rows keep their places and keys, so the items mapping is the previous one
    (copied, C speed) with the changed items assigned: same order, same contents as
    building it afresh; line numbers and problems are those of the previous read."""
    if previous is None or previous.lines is None or previous.by_key is None:
        return None
    before = previous.lines
    if len(before) != len(found):
        return None
    changed = list(compress(count(), map(is_not, found, before)))
    if len(changed) > 64 + len(found) // 16:
        return None  # a full build costs about the same
    for index in changed:
        new, old = found[index], before[index]
        assert isinstance(old, ParsedLine)
        if not (new.is_row and old.is_row) or new.problems or old.problems:
            return None
        # Equal and written alike (1 and 1.0 are equal keys, but messages show them).
        if new.key is None or new.key != old.key or repr(new.key) != repr(old.key):
            return None
    by_key = dict(previous.by_key)
    for index in changed:
        line = found[index]
        assert line.item is not None and line.key is not None
        by_key[line.key] = line.item
    return replace(previous, by_key=by_key, lines=found)
