"""Schema validation of one document, with pydantic's error locations mapped to lines."""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.routes.documents import DOCUMENT_MODELS, RouteDocument
from reconciler.routes.errors import ErrorSink
from reconciler.routes.yaml_reader import FieldPath, SourceDocument, format_path


def _vocabulary() -> list[str]:
    names: set[str] = set()
    pending: list[type[BaseModel]] = list(DOCUMENT_MODELS.values())
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            for arg in _nested_models(info.annotation):
                pending.append(arg)
    return sorted(names)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            found.append(item)
        stack.extend(getattr(item, "__args__", ()))
    return found


_FIELD_NAMES = _vocabulary()


def validate_document(doc: SourceDocument, sink: ErrorSink) -> RouteDocument | None:
    data = doc.data
    if not isinstance(data, dict):
        _add(
            doc,
            sink,
            (),
            "a document must be a mapping with apiVersion, kind, metadata and spec",
            "document-invalid",
        )
        return None
    kind = data.get("kind")
    if kind is None:
        _add(doc, sink, (), "'kind' is missing", "kind-missing")
        return None
    model = DOCUMENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(DOCUMENT_MODELS)
        close = difflib.get_close_matches(str(kind), list(DOCUMENT_MODELS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        _add(doc, sink, ("kind",), f"unknown kind {kind!r}; {hint}(known: {known})", "kind-unknown")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            path = _data_path(data, detail["loc"])
            _add(doc, sink, path, _message(detail), _code(detail["type"]))
        return None


def _data_path(data: object, loc: tuple[int | str, ...]) -> FieldPath:
    """The part of pydantic's `loc` that names data (drops union tags and `[key]`)."""
    path: list[str | int] = []
    node: Any = data
    for index, part in enumerate(loc):
        found, child = _child(node, part)
        if found:
            path.append(part)
            node = child
        elif index == len(loc) - 1 and isinstance(node, dict) and part != "[key]":
            path.append(part)  # a missing field: named, located at its parent
    return tuple(path)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        return part in node, node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _message(detail: Any) -> str:
    kind = detail["type"]
    loc = detail["loc"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _FIELD_NAMES, n=1)
        if close and close[0] == name:
            return f"field {name!r} does not belong here"
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown field {name!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    message = str(detail["msg"])
    value = detail.get("input")
    if isinstance(value, str | int | float | Decimal) and kind.startswith(
        ("string_", "literal_", "greater", "less", "int_", "bool_")
    ):
        message += f", got {value}" if isinstance(value, Decimal) else f", got {value!r}"
    return message


def _code(kind: str) -> str:
    # Our own error types are kebab-case already; pydantic's get a "schema-" prefix.
    return kind if "-" in kind else "schema-" + kind.replace("_", "-")


def _add(doc: SourceDocument, sink: ErrorSink, path: FieldPath, message: str, code: str) -> None:
    pos = doc.locations.locate(path)
    sink.add(doc.file, pos.line, pos.column, format_path(path), message, code)
