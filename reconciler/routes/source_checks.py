"""Edge function sources: present, inside the repository, within CloudFront's size limit."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.routes.check_context import CheckContext, ValidDocument
from reconciler.routes.function_kinds import CloudFrontFunction, LambdaEdgeFunction
from reconciler.routes.limits import CLOUDFRONT_FUNCTION_MAX_BYTES
from reconciler.routes.repo_paths import PathProblem, resolve_inside

# Dependencies are pinned by the lockfile, which is hashed; node_modules is not.
_SKIPPED_DIRS = {"node_modules", ".git", "__pycache__"}
_HANDLER_SUFFIXES = (".mjs", ".js", ".cjs")


def check_sources(ctx: CheckContext) -> None:
    for cff, doc in ctx.of_kind(CloudFrontFunction):
        source = _resolve(ctx, doc, ("spec", "source"), cff.spec.source)
        if source is not None:
            if not source.is_file():
                ctx.error(
                    doc, ("spec", "source"), f"{cff.spec.source!r} is not a file", "path-not-file"
                )
            else:
                data = source.read_bytes()
                ctx.record_input(source, data)
                if len(data) > CLOUDFRONT_FUNCTION_MAX_BYTES:
                    ctx.error(
                        doc,
                        ("spec", "source"),
                        f"function code is {len(data)} bytes; CloudFront allows {CLOUDFRONT_FUNCTION_MAX_BYTES}",
                        "function-too-large",
                    )
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
    else:
        ctx.record_input(found, found.read_bytes())


def _hash_tree(ctx: CheckContext, folder: Path) -> None:
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file():
                ctx.record_input(path, path.read_bytes())
