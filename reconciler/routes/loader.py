"""Read, validate and assemble a whole route set, or refuse it whole.

`load_route_set()` reads everything afresh. A `RouteSetLoader` does the same on every
`load()` but keeps what each file yielded, by its bytes: a route file whose bytes did
not change is neither parsed nor validated again, and in a bulk item file only the lines
that changed are (bulk_reading.py). Every file is still read and hashed on every load
(a file's size and time say nothing certain about its bytes), and every check across
files runs on the whole set, so a load gives exactly what a fresh load of the same files
gives: the same documents, items, errors and content hash.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from reconciler.routes.check_context import CheckContext
from reconciler.routes.data_kinds import KeyValueStore, RoutingTable
from reconciler.routes.distribution_kind import Distribution
from reconciler.routes.errors import ErrorSink, RouteSetInvalid
from reconciler.routes.file_results import FileResult, RouteFileCache
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.name_checks import check_names
from reconciler.routes.reference_checks import check_references
from reconciler.routes.route_set import LoadedTable, RouteSet, SourceRef
from reconciler.routes.source_checks import check_sources
from reconciler.routes.source_files import UNREADABLE, FileProblem, Source, walk
from reconciler.routes.store_checks import StoreCheckCache, check_stores
from reconciler.routes.table_loading import TableCache, TableItems, load_tables
from reconciler.routes.variables import Variables, load_variables
from reconciler.routes.yaml_reader import SourceDocument, YamlLimits

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadLimits:
    yaml: YamlLimits = field(default_factory=YamlLimits)
    max_bulk_file_bytes: int = 256 * 1024 * 1024


def load_route_set(
    routes_dir: Path,
    root: Path | None = None,
    limits: LoadLimits | None = None,
    *,
    environment: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RouteSet:
    """Validate every file under `routes_dir` and return the typed set.

    `root` is the repository root that paths in documents are relative to (default: the
    parent of `routes_dir`). `environment` selects `<root>/environments/<name>.yaml`, the
    values of `${NAME}` references; `environ` (the process environment, None: none) may
    supply `RECONCILER_VAR_<NAME>` for names that file leaves open. Raises
    RouteSetInvalid with every error found; nothing of an invalid set is returned.
    """
    loader = RouteSetLoader(routes_dir, root, limits, environment=environment, environ=environ)
    return loader.load()


class RouteSetLoader:
    """`load_route_set` for a process that loads the same route set again and again (the
    engine, once per pass): same arguments, same result, but a load after a small edit
    costs about the edit. Loads from several threads take turns."""

    def __init__(
        self,
        routes_dir: Path,
        root: Path | None = None,
        limits: LoadLimits | None = None,
        *,
        environment: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.routes_dir = routes_dir
        self.root = root
        self.limits = limits or LoadLimits()
        self.environment = environment
        self.environ = environ
        self._files = RouteFileCache()
        self._stores: StoreCheckCache = {}
        self._tables: dict[str, TableCache] = {}
        self._derived: dict[str, Any] = {}  # RouteSet.derived, the same for every load
        self._lock = threading.Lock()

    def load(self) -> RouteSet:
        """See load_route_set. Paths are resolved on every load: a routes folder reached
        through a symlink that moves (git-sync) is followed."""
        with self._lock:
            return self._load()

    def _load(self) -> RouteSet:
        routes_dir = self.routes_dir.resolve()
        root = (self.root or routes_dir.parent).resolve()
        if not routes_dir.is_dir():
            raise FileNotFoundError(f"routes folder {routes_dir} does not exist")
        ctx = CheckContext(
            root=root, routes_dir=routes_dir, sink=ErrorSink(), documents=[], declared={}
        )
        vars_files: dict[str, bytes] = {}
        variables = load_variables(root, self.environment, self.environ, ctx.sink, vars_files)
        for relative, data in vars_files.items():
            ctx.record_input(root / relative, data)
        files = self._read_files(ctx, variables)
        _check_policy_present(ctx)
        check_names(ctx)
        check_references(ctx)
        check_sources(ctx)
        check_stores(ctx, self._stores)
        tables = load_tables(ctx, self.limits.max_bulk_file_bytes, self._tables)
        if ctx.sink:
            raise RouteSetInvalid(ctx.sink.errors)
        return _assemble(ctx, files, tables, variables, self._tables, self._derived)

    def _read_files(self, ctx: CheckContext, variables: Variables) -> list[str]:
        limits = self.limits.yaml
        relative = []

        def unlistable(folder: Path, reason: str) -> None:
            ctx.sink.add(
                ctx.link_name(folder), 1, 1, "", f"folder cannot be listed: {reason}", UNREADABLE
            )
            ctx.incomplete = True

        # Folders are listed too: a bulk pattern that names one is reported (table_loading).
        ctx.listing = list(walk(ctx.routes_dir, unlistable, folders=True))
        entries = [e for e in ctx.listing if e.path.suffix in YAML_SUFFIXES and not e.folder]
        read: set[str] = set()
        for entry in sorted(entries, key=lambda e: e.relative):
            file = ctx.relative(entry.path)
            source = Source(entry.path, ctx.root, limits.max_file_bytes, "yaml-too-large")
            try:
                digest, result = self._files.result(file, source, limits, variables)
            except FileProblem as problem:
                file = ctx.link_name(entry.path)
                relative.append(file)
                ctx.sink.add(file, 1, 1, "", f"route file {_cannot(problem)}", problem.code)
                ctx.incomplete = True
                continue
            relative.append(file)
            ctx.record_digest(entry.path, digest)
            _take(ctx, result, variables)
            read.add(file)
        self._files.retain(read)
        return relative


def _take(ctx: CheckContext, result: FileResult, variables: Variables) -> None:
    """What one file yielded, into the set (the same whether parsed now or before)."""
    ctx.sink.errors.extend(result.errors)
    if result.loses_documents:
        ctx.incomplete = True
    for document in result.documents:
        _declare(ctx, document)
    ctx.documents.extend(result.valid)
    variables.used.update(result.used)


def _cannot(problem: FileProblem) -> str:
    return f"cannot be read: {problem}" if problem.code == UNREADABLE else str(problem)


def _declare(ctx: CheckContext, document: SourceDocument) -> None:
    data = document.data
    if not isinstance(data, dict):
        return
    kind, metadata = data.get("kind"), data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(kind, str) and isinstance(name, str):
        ctx.declared.setdefault(kind, set()).add(name)
    elif isinstance(kind, str):
        # A document of this kind lost its name: references to it cannot be judged.
        ctx.incomplete = True


def _check_policy_present(ctx: CheckContext) -> None:
    if "ReconcilerPolicy" in ctx.declared or ctx.incomplete:
        return  # incomplete: an unreadable file may hold the policy
    for doc in ctx.documents:
        model = doc.model
        if isinstance(model, KeyValueStore) and model.spec.entries:
            path: tuple[str, ...] = ("spec", "entries")
        elif (
            isinstance(model, RoutingTable)
            and model.spec.origin_attributes
            and (model.spec.items or model.spec.items_from)
        ):
            path = ("spec", "items") if model.spec.items else ("spec", "itemsFrom")
        else:
            continue
        ctx.error(
            doc,
            path,
            "origins are declared but no ReconcilerPolicy says which are allowed (allowedOriginPatterns)",
            "policy-missing",
        )
        return


def _assemble(
    ctx: CheckContext,
    files: list[str],
    tables: dict[str, TableItems],
    variables: Variables,
    caches: dict[str, TableCache],
    derived: dict[str, Any],
) -> RouteSet:
    digest = hashlib.sha256()
    for path, file_digest in sorted(ctx.input_digests.items()):
        digest.update(f"{path}\0{file_digest}\n".encode())
    # The values substituted are input too (a RECONCILER_VAR_ change is a new revision).
    if variables.environment is not None or variables.used:
        digest.update(f"environment\0{variables.environment}\n".encode())
    for name, value in sorted(variables.used.items()):
        digest.update(f"var\0{name}\0{value}\n".encode())
    sources: dict[tuple[str, str], SourceRef] = {
        (doc.model.kind, doc.name): SourceRef(doc.source.file, doc.position(()).line)
        for doc in ctx.documents
    }
    loaded = {
        table.metadata.name: LoadedTable(
            table,
            tables[table.metadata.name].items,
            tables[table.metadata.name].sources,
            tables[table.metadata.name].bulk_files,
            tables[table.metadata.name].digest,
            caches[table.metadata.name].derived,
        )
        for table, _ in ctx.of_kind(RoutingTable)
    }
    return RouteSet(
        root=ctx.root,
        routes_dir=ctx.routes_dir,
        stores=MappingProxyType({m.metadata.name: m for m, _ in ctx.of_kind(KeyValueStore)}),
        tables=MappingProxyType(loaded),
        cloudfront_functions=MappingProxyType(
            {m.metadata.name: m for m, _ in ctx.of_kind(CloudFrontFunction)}
        ),
        lambda_functions=MappingProxyType(
            {m.metadata.name: m for m, _ in ctx.of_kind(LambdaEdgeFunction)}
        ),
        distributions=MappingProxyType({m.metadata.name: m for m, _ in ctx.of_kind(Distribution)}),
        policy=ctx.policy,
        content_hash="sha256:" + digest.hexdigest(),
        sources=MappingProxyType(sources),
        files=tuple(files),
        environment=variables.environment,
        variables=MappingProxyType(
            {name: variables.sources.get(name, "default") for name in sorted(variables.used)}
        ),
        derived=derived,
    )
