"""Edge functions -> CloudFrontFunction / LambdaEdgeFunction documents and their code.

CloudFront Function: the LIVE stage is what the edge runs, so LIVE is what is declared.
Lambda@Edge: the version the distribution associates is what the edge runs; its package
is unpacked into the function's folder so that the reconciler's rebuild holds the same
files (the same content digest, whatever zip tool made the deployed one): a config.json
the reconciler wrote (canonical JSON) becomes the document's `config`; any other
config.json stays a file of the folder, shipped as it is; a package without one gets none.
"""

from __future__ import annotations

import io
import json
import stat
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import ValidationError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import error_code
from reconciler.aws.lambda_edge import EDGE_REGION
from reconciler.functions.package_zip import (
    CONFIG_NAME,
    PackageError,
    build_package,
    canonical_config,
    content_digest,
    shipped_files,
)
from reconciler.importer.model import ImportError_
from reconciler.routes import CloudFrontFunction, LambdaEdgeFunction
from reconciler.settings import redact_url

FUNCTIONS_FOLDER = "edge_functions"
# Lambda's own limit for an unzipped package is 250 MB; an origin-event zip is <= 50 MB.
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
DEFAULT_KEEP_VERSIONS = 3
MAX_KEEP_VERSIONS = 100

# Lambda hands the package out as a presigned HTTPS URL; fetching it needs no credentials.
FetchCode = Callable[[str], bytes]


def fetch_code(url: str) -> bytes:
    # The URL is presigned: its signature must not end up in a terminal or a log.
    shown = redact_url(url)
    if not url.startswith(("https://", "http://")):
        raise ImportError_(f"cannot download a Lambda package from {shown}")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # the scheme is checked above
            data: bytes = resp.read(MAX_ZIP_BYTES + 1)
    except OSError as exc:
        raise ImportError_(f"downloading the Lambda package from {shown} failed: {exc}") from exc
    if len(data) > MAX_ZIP_BYTES:
        raise ImportError_(f"Lambda package at {shown} is larger than {MAX_ZIP_BYTES} bytes")
    return data


@dataclass
class ImportedFunctions:
    cloudfront: list[CloudFrontFunction] = field(default_factory=list)
    lambdas: list[LambdaEdgeFunction] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # repo-relative path -> content
    stores: set[str] = field(default_factory=set)  # stores the functions read (imported too)
    notes: list[str] = field(default_factory=list)
    # (kind, name) -> where the document came from (ARN, ETag), for a comment above it.
    sources: dict[tuple[str, str], str] = field(default_factory=dict)


class FunctionImporter:
    def __init__(self, target: AwsTarget, fetch: FetchCode = fetch_code) -> None:
        self._cf = make_client("cloudfront", target)
        self._lambda = make_client("lambda", target, EDGE_REGION)
        self._fetch = fetch

    # -- CloudFront Functions --------------------------------------------------------------

    def cloudfront(
        self, name: str, store_names: Mapping[str, str], into: ImportedFunctions
    ) -> None:
        live = self._stage(name, "LIVE")
        if live is None:
            raise ImportError_(f"CloudFront Function {name} has no LIVE stage (never published)")
        code, config, meta = live
        development = self._stage(name, "DEVELOPMENT")
        if development is not None and development[:2] != live[:2]:
            into.notes.append(
                f"cloudfront function {name}: DEVELOPMENT differs from LIVE (unpublished edits); "
                "LIVE was imported, so the first apply sets DEVELOPMENT back to it"
            )
        source = f"{FUNCTIONS_FOLDER}/{name}/index.js"
        into.files[source] = code
        spec: dict[str, Any] = {"source": source, "runtime": config.get("Runtime")}
        comment = str(config.get("Comment") or "")
        if comment:
            spec["comment"] = comment
        associated = (config.get("KeyValueStoreAssociations") or {}).get("Items") or []
        if associated:
            arn = str(associated[0]["KeyValueStoreARN"])
            store = store_names.get(arn)
            if store is None:
                raise ImportError_(
                    f"cloudfront function {name}: its KeyValueStore {arn} is not listed"
                )
            spec["keyValueStore"] = store
            into.stores.add(store)
        into.cloudfront.append(_validated(CloudFrontFunction, name, spec))
        into.sources[("CloudFrontFunction", name)] = (
            f"CloudFront Function {name}, LIVE stage: {meta.get('FunctionARN', '?')}, "
            f"ETag {meta.get('ETag', '?')}"
        )

    def _stage(
        self, name: str, stage: Literal["DEVELOPMENT", "LIVE"]
    ) -> tuple[bytes, dict[str, Any], dict[str, Any]] | None:
        try:
            described = self._cf.describe_function(Name=name, Stage=stage)
            got = self._cf.get_function(Name=name, Stage=stage)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchFunctionExists", "EntityNotFound", "NoSuchResource"):
                return None
            raise
        config = dict(described["FunctionSummary"]["FunctionConfig"])
        meta = {
            **(described["FunctionSummary"].get("FunctionMetadata") or {}),
            "ETag": described.get("ETag", "?"),
        }
        return got["FunctionCode"].read(), config, meta

    # -- Lambda@Edge -----------------------------------------------------------------------

    def lambda_edge(self, name: str, version: int, into: ImportedFunctions) -> None:
        try:
            got = self._lambda.get_function(FunctionName=name, Qualifier=str(version))
        except ClientError as exc:
            raise ImportError_(f"Lambda@Edge {name}:{version}: {exc}") from exc
        conf = got["Configuration"]
        location = (got.get("Code") or {}).get("Location")
        if not location:
            raise ImportError_(
                f"Lambda@Edge {name}:{version}: no package location (container image?)"
            )
        deployed = self._fetch(str(location))
        files, config = _unpack(deployed, f"{name}:{version}")
        folder = f"{FUNCTIONS_FOLDER}/{name}"
        for rel, data in files.items():
            into.files[f"{folder}/{rel}"] = data
        versions = self._version_numbers(name)
        keep = min(MAX_KEEP_VERSIONS, max(DEFAULT_KEEP_VERSIONS, len(versions)))
        if len(versions) > MAX_KEEP_VERSIONS:
            into.notes.append(
                f"lambda {name}: {len(versions)} published versions; keepVersions is at most "
                f"{MAX_KEEP_VERSIONS}, so the first apply deletes the oldest unassociated ones"
            )
        elif keep > DEFAULT_KEEP_VERSIONS:
            into.notes.append(
                f"lambda {name}: keepVersions set to {keep} (all {len(versions)} published "
                "versions) so that adopting deletes nothing; lower it to let the reconciler clean up"
            )
        spec: dict[str, Any] = {
            "source": f"{folder}/",
            "runtime": conf.get("Runtime"),
            "handler": conf.get("Handler"),
            "role": conf.get("Role"),
            "memorySize": int(conf.get("MemorySize", 128)),
            "timeout": int(conf.get("Timeout", 3)),
            "config": config,
            "keepVersions": keep,
        }
        into.lambdas.append(_validated(LambdaEdgeFunction, name, spec))
        into.sources[("LambdaEdgeFunction", name)] = (
            f"Lambda@Edge {name} version {version}: {conf.get('FunctionArn', '?')}, "
            f"CodeSha256 {conf.get('CodeSha256', '?')}"
        )
        self._compare_package(name, version, files, config, deployed, into)
        latest = self._lambda.get_function_configuration(FunctionName=name)
        if latest.get("CodeSha256") != conf.get("CodeSha256"):
            into.notes.append(
                f"lambda {name}: $LATEST holds other code than the associated version {version}; "
                "the version was imported, so the first apply sets $LATEST back to it"
            )

    def _version_numbers(self, name: str) -> list[int]:
        pages = self._lambda.get_paginator("list_versions_by_function").paginate(FunctionName=name)
        return [
            int(v["Version"])
            for page in pages
            for v in page.get("Versions", [])
            if v["Version"] != "$LATEST"
        ]

    def _compare_package(
        self,
        name: str,
        version: int,
        files: Mapping[str, bytes],
        config: Mapping[str, Any],
        deployed: bytes,
        into: ImportedFunctions,
    ) -> None:
        """A note when the reconciler's rebuild of the imported folder would not hold the
        deployed package's files (a zip made by hand with the same files is fine: the
        content digest ignores timestamps, order, modes and compression)."""
        with tempfile.TemporaryDirectory() as tmp:
            for rel, data in files.items():
                path = Path(tmp, rel)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            try:
                rebuilt = build_package(Path(tmp), config)
                kept = set(shipped_files(Path(tmp)))
            except PackageError as exc:
                into.notes.append(
                    f"lambda {name}: the reconciler cannot build a package from these files "
                    f"({exc}); plans fail until the folder is changed accordingly"
                )
                return
        try:
            same = rebuilt.content_digest == content_digest(deployed)
        except PackageError:
            same = False
        if same:
            return
        dropped = sorted(rel for rel in files if rel not in kept and rel != CONFIG_NAME)
        what = (
            f"it does not ship {', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}"
            if dropped
            else "the rebuilt package holds other files"
        )
        into.notes.append(
            f"lambda {name}: version {version}'s package cannot be rebuilt with the same files "
            f"({what}: node_modules/, tests/, dotfiles, *.md, package-lock.json and "
            "config.example.json are never packaged); the first apply publishes one new "
            "version without them and rewires it"
        )


def _validated(model: Any, name: str, spec: dict[str, Any]) -> Any:
    try:
        return model.model_validate({"metadata": {"name": name}, "spec": spec})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ImportError_(
            f"{model.__name__} {name} cannot be declared as it is: {problems}"
        ) from exc


def _unpack(zip_bytes: bytes, what: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The package's regular files (paths checked: nothing may land outside the folder)
    and its config.json as a mapping."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as exc:
        raise ImportError_(f"Lambda@Edge {what}: the package is not a zip ({exc})") from exc
    files: dict[str, bytes] = {}
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise ImportError_(f"Lambda@Edge {what}: unsafe path in package: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ImportError_(f"Lambda@Edge {what}: symlink in package: {info.filename!r}")
        total += info.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise ImportError_(
                f"Lambda@Edge {what}: package unzips to more than {MAX_UNZIPPED_BYTES} bytes"
            )
        files[path.as_posix()] = archive.read(info)
    raw = files.get(CONFIG_NAME)
    if raw is None:
        return files, {}
    try:
        config = json.loads(raw)
    except ValueError:
        return files, {}  # not JSON: shipped as the file it is
    if isinstance(config, dict) and config and canonical_config(config) == raw:
        # Written by the reconciler (canonical JSON): declared as the document's config.
        del files[CONFIG_NAME]
        return files, config
    return files, {}
