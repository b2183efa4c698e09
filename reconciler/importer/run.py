"""One import: read everything asked for, lay the files out in memory, refuse to overwrite,
write, then validate what was written exactly as `reconciler validate` would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from reconciler.aws.clients import AwsTarget
from reconciler.core.wiring import DistributionSelector
from reconciler.importer.data import DataImporter, ImportedData
from reconciler.importer.distribution import DistributionImporter, ImportedDistribution
from reconciler.importer.functions import FetchCode, FunctionImporter, ImportedFunctions, fetch_code
from reconciler.importer.model import ImportError_, ImportRequest, ImportResult
from reconciler.importer.policy import policy_document
from reconciler.importer.render import SCHEMA_FILE, file_header, render_file
from reconciler.routes import (
    RouteDocument,
    RouteSetInvalid,
    load_route_set,
    route_document_schema,
)

_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")


def run_import(
    request: ImportRequest,
    target: AwsTarget,
    fetch: FetchCode = fetch_code,
    now: datetime | None = None,
) -> ImportResult:
    """`now`: the import time written into the files (default: the clock, UTC)."""
    if not (
        request.stores
        or request.tables
        or request.distribution_ids
        or request.distribution_comments
    ):
        raise ImportError_("nothing to import: name a --store, --table or distribution")
    wiring = ImportedDistribution()
    dists = DistributionImporter(target)
    selectors = [DistributionSelector(id=i) for i in request.distribution_ids]
    selectors += [DistributionSelector(comment=c) for c in request.distribution_comments]
    for selector in selectors:
        dists.distribution(selector, wiring)

    data = DataImporter(target)
    code = ImportedFunctions()
    functions = FunctionImporter(target, fetch)
    if wiring.cloudfront_functions:
        by_arn = data.store_names_by_arn()
        for name in sorted(wiring.cloudfront_functions):
            functions.cloudfront(name, by_arn, code)
    for name, version in sorted(wiring.lambda_versions.items()):
        functions.lambda_edge(name, version, code)

    imported = ImportedData()
    for store in _unique([*request.stores, *sorted(code.stores)]):
        data.store(store, imported)
    for table in _unique(request.tables):
        data.table(table, request.origin_attributes, request.inline_items_max, imported)

    sources = {**imported.sources, **code.sources, **wiring.sources}
    header = file_header(now or datetime.now(UTC), _account(sources), target.region)
    files = _layout(request, imported, code, wiring, header, sources)
    _refuse_overwrite(request, files)
    result = ImportResult(notes=[*wiring.notes, *code.notes, *imported.notes])
    for rel, content in files.items():
        path = request.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        result.files.append(path)
    result.documents = {
        "KeyValueStore": [d.metadata.name for d in imported.stores],
        "RoutingTable": [d.metadata.name for d in imported.tables],
        "CloudFrontFunction": [d.metadata.name for d in code.cloudfront],
        "LambdaEdgeFunction": [d.metadata.name for d in code.lambdas],
        "Distribution": [d.metadata.name for d in wiring.documents],
    }
    _validate(request, result)
    return result


def _account(sources: Mapping[tuple[str, str], str]) -> str | None:
    for text in sources.values():
        for word in text.replace(",", " ").split():
            match = _ACCOUNT.match(word)
            if match:
                return match[1]
    return None


def _layout(
    request: ImportRequest,
    data: ImportedData,
    code: ImportedFunctions,
    wiring: ImportedDistribution,
    header: str,
    sources: Mapping[tuple[str, str], str],
) -> dict[str, bytes]:
    routes = request.routes_dir.relative_to(request.out).as_posix()
    files: dict[str, bytes] = {}
    policy = policy_document(data.origins)
    policy_source = {
        ("ReconcilerPolicy", policy.metadata.name): "the origin domains found in the stores "
        "and tables above (their parent domains): tighten the patterns if you can"
    } if policy else {}
    groups: list[tuple[str, list[RouteDocument]]] = [
        ("policy.yaml", [policy] if policy else []),
        ("stores.yaml", list(data.stores)),
        ("tables.yaml", list(data.tables)),
        ("functions.yaml", [*code.cloudfront, *code.lambdas]),
        ("distributions.yaml", list(wiring.documents)),
    ]
    for name, documents in groups:
        if documents:
            text = render_file(header, documents, {**sources, **policy_source})
            files[f"{routes}/{name}"] = text.encode()
    if files:
        schema = json.dumps(route_document_schema(), indent=2) + "\n"
        files[f"{routes}/{SCHEMA_FILE}"] = schema.encode()
    for rel, text in data.bulk_files.items():
        files[f"{routes}/{rel}"] = text.encode()
    files.update(code.files)
    return files


def _refuse_overwrite(request: ImportRequest, files: dict[str, bytes]) -> None:
    # An import never merges into existing files: a half-merged route set could declare a
    # store twice or ship a stale file in a Lambda package. Import into a fresh folder.
    out = request.out
    taken = sorted(rel for rel in files if (out / rel).exists())
    folders = {"/".join(rel.split("/")[:2]) for rel in files if rel.startswith("edge_functions/")}
    taken += sorted(f for f in folders if (out / f).is_dir() and any((out / f).iterdir()))
    if request.routes_dir.is_dir():
        existing = request.routes_dir.rglob("*.y*ml")
        taken += sorted(p.relative_to(out).as_posix() for p in existing)
    taken = sorted(set(taken))
    if taken:
        raise ImportError_(
            f"{out}: would overwrite {', '.join(taken[:5])}{' ...' if len(taken) > 5 else ''}; "
            "import into an empty folder and copy what you need"
        )


def _validate(request: ImportRequest, result: ImportResult) -> None:
    try:
        load_route_set(request.routes_dir, request.out)
    except RouteSetInvalid as invalid:
        result.errors = [e.render() for e in invalid.errors]


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
