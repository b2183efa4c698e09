"""YAML syntax errors positioned at the byte at fault.

libyaml stops where it notices a problem, which is not always where the problem is: an
unterminated quote or bracket is noticed at the end of the file, a line without ':' on the
line after it, and a control character is counted in bytes. These functions move the
position to where the unclosed thing starts and turn offsets into line and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from reconciler.routes.text_positions import (
    Position,
    character_name,
    position_of_byte,
    position_of_index,
)

_FLOW_CONTEXTS = ("while parsing a flow mapping", "while parsing a flow sequence")


def syntax_problem(
    error: yaml.MarkedYAMLError, text: str, open_collections: Sequence[Any]
) -> tuple[Position, str]:
    """Position and message of a parser error. `open_collections`: the reader's frames
    of the collections still open when the parser stopped (`flow`, `start`, `container`)."""
    open_flow = next(
        ((f.start, isinstance(f.container, dict)) for f in reversed(open_collections) if f.flow),
        None,
    )
    problem = error.problem or "invalid YAML"
    problem_mark, context_mark = error.problem_mark, error.context_mark
    if problem_mark is None:
        start = _position(context_mark) if context_mark is not None else Position(1, 1)
        return start, f"YAML syntax: {problem}"
    at_end = not text[problem_mark.index :].strip()
    where = "the file ends first" if at_end else f"found at {_at(problem_mark)}"
    if context_mark is not None:
        if error.context == "while scanning a quoted scalar":
            return _position(
                context_mark
            ), f"YAML syntax: this quoted text is never closed ({where})"
        if error.context == "while scanning a simple key":
            return _position(context_mark), (
                f"YAML syntax: {problem} after this text (a mapping line without 'key: value'?)"
            )
        if error.context in _FLOW_CONTEXTS and (at_end or problem_mark.line > context_mark.line):
            kind = error.context.removeprefix("while parsing a ")
            return _position(context_mark), _never_closed(kind, problem, where)
    if at_end and open_flow is not None:
        kind = "flow mapping" if open_flow[1] else "flow sequence"
        return _position(open_flow[0]), _never_closed(kind, problem, where)
    context = f" ({error.context})" if error.context else ""
    return _position(problem_mark), f"YAML syntax: {problem}{context}"


def reader_problem(error: yaml.reader.ReaderError, text: str) -> tuple[Position, str]:
    """A character YAML does not allow (NUL and other control characters). libyaml counts
    its position in UTF-8 bytes, PyYAML's pure-Python reader in characters."""
    if error.encoding == "unicode":
        pos = position_of_index(text, error.position)
    else:
        pos = position_of_byte(text.encode("utf-8", errors="surrogatepass"), error.position)
    char = error.character if isinstance(error.character, int) else ord(error.character)
    return (
        pos,
        f"YAML syntax: {character_name(char)} is not allowed in a YAML file ({error.reason})",
    )


def _never_closed(kind: str, problem: str, where: str) -> str:
    return f"YAML syntax: this {kind} is never closed ({problem}; {where})"


def _position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"
