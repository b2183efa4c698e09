"""One YAML route file -> its documents, their validated models and its own errors.

Everything here depends only on the file's name and bytes, the YAML bounds and the
values of the variables, so a RouteSetLoader keeps the result by those and hands it out
again when a later load finds the same bytes: the file is neither parsed nor validated
again. Checks across files (names, references, sources, limits of the set) are not here:
they run on every load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.routes.check_context import ValidDocument
from reconciler.routes.errors import ErrorSink, RouteError
from reconciler.routes.schema_check import validate_document
from reconciler.routes.source_files import Source
from reconciler.routes.text_positions import utf8_problem
from reconciler.routes.variables import Variables
from reconciler.routes.yaml_reader import SourceDocument, YamlLimits, read_yaml_documents

# After these the file's later documents are missing, so the names they declared are unknown.
DOCUMENT_LOSING_CODES = {
    "yaml-syntax",
    "yaml-alias-expansion",
    "yaml-too-deep",
    "yaml-too-many-nodes",
}


@dataclass(frozen=True)
class FileResult:
    documents: tuple[SourceDocument, ...]  # every document, valid or not
    valid: tuple[ValidDocument, ...]  # those whose schema holds, in order
    errors: tuple[RouteError, ...]
    loses_documents: bool  # a later document may be missing: the names it declared too
    used: Mapping[str, str]  # variables substituted in this file -> their values


def parse_route_file(
    file: str, data: bytes, limits: YamlLimits, variables: Variables
) -> FileResult:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        pos, message = utf8_problem(data, error)
        problem = RouteError(file, pos.line, pos.column, "", message, "yaml-syntax")
        return FileResult((), (), (problem,), True, {})
    return parse_route_text(file, text, limits, variables)


def parse_route_text(file: str, text: str, limits: YamlLimits, variables: Variables) -> FileResult:
    sink = ErrorSink()
    # The variables this file uses are recorded apart: a result handed out again must
    # count them into the content hash as a fresh parse would.
    outer, variables.used = variables.used, {}
    try:
        documents = read_yaml_documents(text, file, sink, limits, variables)
        used = variables.used
    finally:
        variables.used = outer
    loses = any(e.code in DOCUMENT_LOSING_CODES for e in sink.errors)
    valid = []
    for document in documents:
        if document.unresolved:
            continue  # its values are not what would be deployed: only the variable error
        model = validate_document(document, sink)
        if model is not None:
            valid.append(ValidDocument(model, document))
    return FileResult(tuple(documents), tuple(valid), tuple(sink.errors), loses, used)


@dataclass(frozen=True)
class _Key:
    digest: str
    limits: YamlLimits
    environment: str | None
    values: tuple[tuple[str, str], ...]


def _key(digest: str, limits: YamlLimits, variables: Variables) -> _Key:
    return _Key(digest, limits, variables.environment, tuple(sorted(variables.values.items())))


@dataclass
class RouteFileCache:
    """The last result of each route file, by the file's name relative to the root."""

    _results: dict[str, tuple[_Key, FileResult]] = field(default_factory=dict)

    def result(
        self, file: str, source: Source, limits: YamlLimits, variables: Variables
    ) -> tuple[str, FileResult]:
        """(sha256 of the file's bytes, `parse_route_file` of them). The file is hashed
        first; it is read whole and parsed only when no result is kept for its digest.
        FileProblem as read_source."""
        digest = source.digest()
        found = self._results.get(file)
        if found is not None and found[0] == _key(digest, limits, variables):
            return digest, found[1]
        self._results.pop(file, None)  # the old result need not live through the parse
        data = source.read()
        digest = hashlib.sha256(data).hexdigest()  # the bytes parsed (the file may move)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            result = parse_route_file(file, data, limits, variables)
        else:
            del data  # 5 MB for a full store: not needed through the parse
            result = parse_route_text(file, text, limits, variables)
        self._results[file] = (_key(digest, limits, variables), result)
        return digest, result

    def retain(self, files: set[str]) -> None:
        """Forget files that are gone."""
        for file in set(self._results) - files:
            del self._results[file]
