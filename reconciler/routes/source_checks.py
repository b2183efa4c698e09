"""Edge function sources: present, inside the repository, within CloudFront's size limit."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.limits import CLOUDFRONT_FUNCTION_MAX_BYTES
from reconciler.routes.repo_paths import PathProblem, resolve_inside
from reconciler.routes.source_files import FileProblem, read_source

# Dependencies are pinned by the lockfile, which is hashed; node_modules is not.
_SKIPPED_DIRS = {"node_modules", ".git", "__pycache__"}
_HANDLER_SUFFIXES = (".mjs", ".js", ".cjs")
# Read bound for function code and test files (CloudFront's own limit is checked after).
_MAX_TEST_FILE_BYTES = 64 * 1024 * 1024


def check_sources(ctx: CheckContext) -> None:
    for cff, doc in ctx.of_kind(CloudFrontFunction):
        source = _resolve(ctx, doc, ("spec", "source"), cff.spec.source)
        if source is not None:
            if source.is_dir():
                ctx.error(
                    doc, ("spec", "source"), f"{cff.spec.source!r} is not a file", "path-not-file"
                )
            else:
                _check_function_code(ctx, doc, source, cff.spec.source)
        _hash_tests(ctx, doc, cff.spec.tests)
    for function, doc in ctx.of_kind(LambdaEdgeFunction):
        folder = _resolve(ctx, doc, ("spec", "source"), function.spec.source)
        if folder is not None:
            if not folder.is_dir():
                ctx.error(
                    doc,
                    ("spec", "source"),
                    f"{function.spec.source!r} must be a folder (the package root)",
                    "path-not-folder",
                )
            else:
                _hash_tree(ctx, folder)
                module = function.spec.handler.rsplit(".", 1)[0]
                if not any((folder / (module + suffix)).is_file() for suffix in _HANDLER_SUFFIXES):
                    ctx.error(
                        doc,
                        ("spec", "handler"),
                        f"no {module}.mjs, {module}.js or {module}.cjs in {function.spec.source!r}",
                        "lambda-handler-missing",
                    )
        _hash_tests(ctx, doc, function.spec.tests)


def _check_function_code(ctx: CheckContext, doc: ValidDocument, source: Path, text: str) -> None:
    try:
        data = read_source(source, ctx.root, _MAX_TEST_FILE_BYTES, "function-too-large")
    except FileProblem as problem:
        ctx.error(doc, ("spec", "source"), f"{text!r} cannot be read: {problem}", problem.code)
        return
    ctx.record_input(source, data)
    if len(data) > CLOUDFRONT_FUNCTION_MAX_BYTES:
        ctx.error(
            doc,
            ("spec", "source"),
            f"function code is {len(data)} bytes; CloudFront allows {CLOUDFRONT_FUNCTION_MAX_BYTES}",
            "function-too-large",
        )


def _resolve(
    ctx: CheckContext, doc: ValidDocument, path: tuple[str, ...], text: str
) -> Path | None:
    try:
        return resolve_inside(ctx.root, text)
    except PathProblem as problem:
        ctx.error(doc, path, str(problem), problem.code)
        return None


def _hash_tests(ctx: CheckContext, doc: ValidDocument, tests: str | None) -> None:
    if tests is None:
        return
    found = _resolve(ctx, doc, ("spec", "tests"), tests)
    if found is None:
        return
    if found.is_dir():
        _hash_tree(ctx, found)
        return
    try:
        data = read_source(found, ctx.root, _MAX_TEST_FILE_BYTES, "path-too-large")
    except FileProblem as problem:
        ctx.error(doc, ("spec", "tests"), f"{tests!r} cannot be read: {problem}", problem.code)
        return
    ctx.record_input(found, data)


def _hash_tree(ctx: CheckContext, folder: Path) -> None:
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file():
                ctx.record_input(path, path.read_bytes())
