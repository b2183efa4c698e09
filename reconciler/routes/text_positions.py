"""Line and column of an offending byte or character, the way an editor counts them.

Lines are 1-based and end at "\\n"; columns are 1-based and count characters (not bytes)
of the line up to the offending one, so a reviewer's cursor lands on it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)  # one per field of every document kept: no __dict__
class Position:
    line: int
    column: int


def position_of_index(text: str, index: int) -> Position:
    """Where the character at `index` of `text` is (an index past the end: just after it)."""
    index = max(0, min(index, len(text)))
    line_start = text.rfind("\n", 0, index) + 1
    return Position(text.count("\n", 0, index) + 1, index - line_start + 1)


def position_of_byte(data: bytes, offset: int) -> Position:
    """Where byte `offset` of UTF-8 `data` is; the bytes before it must decode."""
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Position(data.count(b"\n", 0, offset) + 1, column)


def utf8_problem(data: bytes, error: UnicodeDecodeError) -> tuple[Position, str]:
    """The position of the first byte that is not UTF-8, and a message naming it."""
    bad = data[error.start : error.end]
    shown = " ".join(f"0x{b:02X}" for b in bad[:4])
    return (
        position_of_byte(data, error.start),
        f"file is not valid UTF-8: byte {shown} at offset {error.start} ({error.reason})",
    )


def character_name(code: int) -> str:
    """`U+0000 (NUL)`: control characters have no Unicode name, so common ones get theirs."""
    names = {0: "NUL", 7: "BEL", 8: "BACKSPACE", 0x1B: "ESC", 0x7F: "DEL", 0xFEFF: "BOM"}
    name = names.get(code) or unicodedata.name(chr(code), "")
    return f"U+{code:04X}" + (f" ({name})" if name else "")
