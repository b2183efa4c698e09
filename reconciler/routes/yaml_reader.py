"""YAML documents -> plain Python data with a line for every field, in bounded time and memory.

PyYAML's constructors lose positions, keep the last of duplicate keys silently and expand
aliases without limit (billion laughs). Building the data ourselves from the parser's event
stream fixes all three: every node has a start mark, a mapping sees each key as it arrives,
an alias costs the size of what it expands to, and nesting is an explicit stack (a deep
file cannot overflow the interpreter's recursion limit). Parsing itself stays in libyaml.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import ScalarNode

from reconciler.routes.errors import ErrorSink
from reconciler.routes.text_positions import Position as Position
from reconciler.routes.text_positions import position_of_index
from reconciler.routes.yaml_errors import reader_problem, syntax_problem
from reconciler.routes.yaml_scalars import MERGE, TAG, Merge, Scalar, construct_scalar, resolve_tag

if TYPE_CHECKING:
    from reconciler.routes.variables import Variables

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FieldPath = tuple[str | int, ...]

_MAP_TAGS = {None, "!", TAG + "map"}
_SEQ_TAGS = {None, "!", TAG + "seq"}
_DISCARD = object()  # stands for a collection used as a key (already reported)


@dataclass(frozen=True)
class YamlLimits:
    """Bounds that keep a hostile or accidental file from exhausting the reconciler."""

    # A full 5 MB KeyValueStore plus YAML indentation must fit in one file.
    max_file_bytes: int = 8 * 1024 * 1024
    max_depth: int = 64
    max_alias_nodes: int = 100_000
    max_nodes: int = 2_000_000


@dataclass
class Locations:
    """Where every field of one document was written; lookups fall back to the parent."""

    start: Position
    by_path: dict[FieldPath, Position] = field(default_factory=dict)

    def locate(self, path: FieldPath) -> Position:
        for end in range(len(path), 0, -1):
            found = self.by_path.get(path[:end])
            if found is not None:
                return found
        return self.start


@dataclass(frozen=True)
class SourceDocument:
    file: str
    index: int
    data: object
    locations: Locations
    # A ${VARIABLE} could not be substituted: its values are not what will be deployed,
    # so they are not checked (that would only repeat the variable error).
    unresolved: bool = False


def format_path(path: FieldPath) -> str:
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
            continue
        name = str(part)
        if len(name) > 64:  # an over-long key is the error; do not print all of it
            name = f"{name[:40]}...({len(name.encode())} bytes)"
        text += f".{name}" if text else name
    return text


class _YamlBomb(Exception):
    def __init__(self, message: str, code: str, mark: Any) -> None:
        super().__init__(message)
        self.code = code
        self.mark = mark


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: FieldPath
    size: int = 1
    anchor: str | None = None
    pending_key: Any = None
    has_key: bool = False
    key_mark: Any = None
    key_marks: dict[Any, Position] = field(default_factory=dict)
    merges: list[tuple[dict[Any, Any], Any]] = field(default_factory=list)
    discard: bool = False
    start: Any = None  # where the collection starts, for "never closed" errors
    flow: bool = False


def _position(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1)


class _DocumentBuilder:
    def __init__(
        self,
        file: str,
        index: int,
        start: Any,
        limits: YamlLimits,
        sink: ErrorSink,
        text: str = "",
        variables: Variables | None = None,
    ):
        self.file = file
        self.text = text
        self.variables = variables
        self.limits = limits
        self.sink = sink
        self.locations = Locations(_position(start))
        self.index = index
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[object, int]] = {}
        self.nodes = 0
        self.alias_nodes = 0
        self.unresolved = False
        self.root: object = None

    def error(self, mark: Any, path: FieldPath, message: str, code: str) -> None:
        pos = _position(mark)
        self.sink.add(self.file, pos.line, pos.column, format_path(path), message, code)

    def child_path(self) -> FieldPath | None:
        """Path of the node that starts now, or None when it is a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        if not top.has_key:
            return None
        key = top.pending_key
        return top.path if key is MERGE else (*top.path, key)

    def count(self, size: int, mark: Any, via_alias: bool) -> None:
        self.nodes += size
        if via_alias:
            self.alias_nodes += size
            if self.alias_nodes > self.limits.max_alias_nodes:
                raise _YamlBomb(
                    f"aliases expand to more than {self.limits.max_alias_nodes} nodes "
                    "(a 'billion laughs' document?)",
                    "yaml-alias-expansion",
                    mark,
                )
        if self.nodes > self.limits.max_nodes:
            raise _YamlBomb(
                f"document has more than {self.limits.max_nodes} nodes", "yaml-too-many-nodes", mark
            )

    def open(self, container: dict[Any, Any] | list[Any], event: Any) -> None:
        if len(self.stack) >= self.limits.max_depth:
            raise _YamlBomb(
                f"nesting deeper than {self.limits.max_depth} levels",
                "yaml-too-deep",
                event.start_mark,
            )
        path = self.child_path()
        discard = path is None
        if discard:
            self.error(
                event.start_mark,
                self.stack[-1].path,
                "mapping keys must be plain scalars, not collections",
                "yaml-complex-key",
            )
        elif not self.stack or isinstance(self.stack[-1].container, list):
            # Mapping values are located at their key (emit); items and the root here.
            self.locations.by_path[path or ()] = _position(event.start_mark)
        self.count(1, event.start_mark, via_alias=False)
        if discard:
            # Children of a collection key get a path no lookup will ever ask for.
            path = (*self.stack[-1].path, "<key>")
        self.stack.append(
            _Frame(
                container,
                path or (),
                anchor=event.anchor,
                discard=discard,
                start=event.start_mark,
                flow=bool(event.flow_style),
            )
        )

    def close(self, event: Any) -> None:
        frame = self.stack.pop()
        if isinstance(frame.container, dict):
            self._apply_merges(frame)
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, frame.size)
        if frame.discard:
            # A collection used as a key: finish the key/value pair with a placeholder.
            top = self.stack[-1]
            top.pending_key, top.has_key, top.key_mark = _DISCARD, True, event.start_mark
            top.size += frame.size
            return
        self.emit(frame.container, event.start_mark, frame.size)

    def _apply_merges(self, frame: _Frame) -> None:
        mapping = frame.container
        assert isinstance(mapping, dict)
        # Explicit keys win over merged ones, and earlier merge sources over later ones.
        for source, mark in frame.merges:
            for key, value in source.items():
                if key not in mapping:
                    mapping[key] = value
                    self.locations.by_path.setdefault((*frame.path, key), _position(mark))

    def emit(self, value: object, mark: Any, size: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.container, list):
            top.container.append(value)
            return
        if not top.has_key:
            if isinstance(value, dict | list):
                return  # reported by open(); close() fills the key in
            top.pending_key, top.has_key, top.key_mark = value, True, mark
            return
        key, key_mark = top.pending_key, top.key_mark
        top.pending_key, top.has_key = None, False
        if key is MERGE:
            self._merge(top, value, mark)
            return
        if top.discard or key is _DISCARD:
            return
        first = top.key_marks.get(key)
        if first is not None:
            self.error(
                key_mark,
                (*top.path, key),
                f"duplicate key {key!r} (first at line {first.line}); YAML would keep only the last",
                "yaml-duplicate-key",
            )
            return
        # The key's Position, not its Mark: 22k Marks of a full store are megabytes.
        top.key_marks[key] = self.locations.by_path[(*top.path, key)] = _position(key_mark)
        top.container[key] = value

    def _merge(self, top: _Frame, value: object, mark: Any) -> None:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                self.error(mark, top.path, "'<<' merges only mappings", "yaml-merge-invalid")
                return
            top.merges.append((source, mark))

    def scalar(self, event: Any) -> None:
        path = self.child_path()
        value = self.construct(event, path)
        self.count(1, event.start_mark, via_alias=False)
        if path is not None and self.stack and isinstance(self.stack[-1].container, list):
            self.locations.by_path[path] = _position(event.start_mark)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self.emit(value, event.start_mark, 1)

    def alias(self, event: Any) -> None:
        found = self.anchors.get(event.anchor)
        if found is None:
            raise _YamlBomb(f"unknown alias *{event.anchor}", "yaml-syntax", event.start_mark)
        value, size = found
        self.count(size, event.start_mark, via_alias=True)
        path = self.child_path()
        if path is not None and self.stack and isinstance(self.stack[-1].container, list):
            self.locations.by_path[path] = _position(event.start_mark)
        self.emit(value, event.start_mark, size)

    def construct(self, event: Any, path: FieldPath | None) -> Scalar | Merge:
        value = event.value
        if path is not None and self.variables is not None and "${" in value:
            value = self.substitute(event, path)
        tag = event.tag
        if tag is None or tag == "!":
            # After substitution, like Flux: `memorySize: ${MEM}` is a number when MEM
            # is one; a quoted reference stays text.
            tag = resolve_tag(ScalarNode, value, event.implicit)
        if path is None and tag != TAG + "merge":
            # Mapping keys are names: `on:`, `no:` or `1:` mean the text, not true/false/1.
            return str(value)
        return construct_scalar(tag, value, self.error, event.start_mark, path or self._parent())

    def _parent(self) -> FieldPath:
        return self.stack[-1].path if self.stack else ()

    def substitute(self, event: Any, path: FieldPath) -> str:
        assert self.variables is not None
        value, problems = self.variables.substitute(event.value)
        self.unresolved = self.unresolved or bool(problems)
        for index, message, code in problems:
            pos = self._reference_position(event, event.value.count("${", 0, index + 1))
            self.sink.add(self.file, pos.line, pos.column, format_path(path), message, code)
        return value

    def _reference_position(self, event: Any, nth: int) -> Position:
        """Where the nth `${` of a scalar is in the source (quotes and folding move it)."""
        start, end = event.start_mark.index, event.end_mark.index
        found = start - 1
        for _ in range(max(nth, 1)):
            found = self.text.find("${", found + 1, end)
            if found < 0:
                return _position(event.start_mark)
        return position_of_index(self.text, found)


def read_yaml_documents(
    text: str,
    file: str,
    sink: ErrorSink,
    limits: YamlLimits | None = None,
    variables: Variables | None = None,
) -> list[SourceDocument]:
    """Every document of one YAML stream; problems go to `sink`.

    A syntax error ends the file (the parser cannot resynchronise), keeping the documents
    completed before it. A document that breaks a bound is dropped whole. With
    `variables`, `${NAME}` references in scalar values are substituted (see variables.py).
    """
    limits = limits or YamlLimits()
    documents: list[SourceDocument] = []
    builder: _DocumentBuilder | None = None
    events: Iterator[Any] = yaml.parse(text, Loader=_Loader)
    index = 0
    try:
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                builder = _DocumentBuilder(
                    file, index, event.start_mark, limits, sink, text, variables
                )
                index += 1
            elif builder is None:
                continue
            elif isinstance(event, yaml.DocumentEndEvent):
                if builder.root is not None:
                    documents.append(
                        SourceDocument(
                            file, builder.index, builder.root, builder.locations, builder.unresolved
                        )
                    )
                builder = None
            else:
                _feed(builder, event)
    except _YamlBomb as bomb:
        pos = _position(bomb.mark)
        sink.add(file, pos.line, pos.column, "", str(bomb), bomb.code)
    except yaml.MarkedYAMLError as error:
        pos, message = syntax_problem(error, text, builder.stack if builder else [])
        sink.add(file, pos.line, pos.column, "", message, "yaml-syntax")
    except yaml.reader.ReaderError as error:
        pos, message = reader_problem(error, text)
        sink.add(file, pos.line, pos.column, "", message, "yaml-syntax")
    except yaml.YAMLError as error:
        sink.add(file, 1, 1, "", f"YAML syntax: {error}", "yaml-syntax")
    return documents


def _feed(builder: _DocumentBuilder, event: Any) -> None:
    if isinstance(event, yaml.ScalarEvent):
        builder.scalar(event)
    elif isinstance(event, yaml.MappingStartEvent):
        _check_collection_tag(builder, event, _MAP_TAGS)
        builder.open({}, event)
    elif isinstance(event, yaml.SequenceStartEvent):
        _check_collection_tag(builder, event, _SEQ_TAGS)
        builder.open([], event)
    elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
        builder.close(event)
    elif isinstance(event, yaml.AliasEvent):
        builder.alias(event)


def _check_collection_tag(builder: _DocumentBuilder, event: Any, allowed: set[str | None]) -> None:
    if event.tag not in allowed:
        path = builder.child_path() or ()
        builder.error(
            event.start_mark, path, f"unsupported YAML tag {event.tag!r}", "yaml-tag-unsupported"
        )
