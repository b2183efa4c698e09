"""The Lambda@Edge package is byte-identical for the same files, whatever the machine."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from reconciler.functions import PackageError, build_package, content_digest
from tests.functions.conftest import EDGE

CONFIG = {"tableName": "tenant-routing-config-prod", "region": "us-east-1"}


@pytest.fixture
def fn(tmp_path: Path) -> Path:
    folder = tmp_path / "fn"
    shutil.copytree(EDGE / "tenant_router", folder, ignore=shutil.ignore_patterns("node_modules"))
    (folder / "node_modules" / "x").mkdir(parents=True)
    (folder / "node_modules" / "x" / "index.js").write_text("junk")
    (folder / ".env").write_text("SECRET=1")
    (folder / "README.md").write_text("notes")
    (folder / "config.json").write_text('{"tableName": "local-dev"}')
    (folder / "lib").mkdir()
    (folder / "lib" / "util.mjs").write_text("export const x = 1;\n")
    # A function's own package.json (the example function has none: the runtime provides
    # the SDK); devDependencies are allowed, runtime dependencies are not.
    (folder / "package.json").write_text(
        json.dumps({"type": "module", "devDependencies": {"@aws-sdk/client-dynamodb": "^3"}})
    )
    return folder


def test_two_builds_are_byte_identical(fn):
    assert build_package(fn, CONFIG).zip_bytes == build_package(fn, CONFIG).zip_bytes


def test_code_sha256_is_base64_of_the_zip_digest(fn):
    package = build_package(fn, CONFIG)
    assert (
        package.code_sha256 == base64.b64encode(hashlib.sha256(package.zip_bytes).digest()).decode()
    )


def test_changed_file_changes_the_hash(fn):
    before = build_package(fn, CONFIG).code_sha256
    (fn / "lib" / "util.mjs").write_text("export const x = 2;\n")
    assert build_package(fn, CONFIG).code_sha256 != before


def test_changed_config_changes_the_hash(fn):
    assert (
        build_package(fn, CONFIG).code_sha256
        != build_package(fn, {**CONFIG, "tableName": "t2"}).code_sha256
    )


def test_config_key_order_does_not_matter(fn):
    reordered = dict(reversed(list(CONFIG.items())))
    assert build_package(fn, CONFIG).zip_bytes == build_package(fn, reordered).zip_bytes


def test_mtimes_modes_and_umask_do_not_matter(fn, tmp_path):
    before = build_package(fn, CONFIG).zip_bytes
    os.utime(fn / "index.mjs", (1_000_000_000, 1_000_000_000))
    (fn / "package.json").chmod(0o600)
    (fn / "index.mjs").chmod(0o755)
    old = os.umask(0o077)
    try:
        copy = tmp_path / "copy"
        shutil.copytree(fn, copy)  # new inodes, new directory order, new mtimes
    finally:
        os.umask(old)
    assert build_package(fn, CONFIG).zip_bytes == before
    assert build_package(copy, CONFIG).zip_bytes == before


def test_entries_are_sorted_with_fixed_metadata(fn):
    archive = zipfile.ZipFile(io.BytesIO(build_package(fn, CONFIG).zip_bytes))
    infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "config.json",
        "index.mjs",
        "lib/util.mjs",
        "package.json",
    ]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_STORED
    # The generated config replaces any local one, in canonical form.
    assert (
        archive.read("config.json")
        == b'{"region":"us-east-1","tableName":"tenant-routing-config-prod"}\n'
    )
    assert json.loads(archive.read("config.json")) == CONFIG


def test_runtime_dependencies_are_refused(fn):
    manifest = json.loads((fn / "package.json").read_text())
    manifest["dependencies"] = {"left-pad": "1.0.0"}
    (fn / "package.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="devDependencies"):
        build_package(fn, CONFIG)


def test_symlinks_are_refused(fn):
    (fn / "link.mjs").symlink_to(fn / "index.mjs")
    with pytest.raises(PackageError, match="symlinks"):
        build_package(fn, CONFIG)


def test_a_symlinked_node_modules_is_excluded_like_a_real_one(fn, tmp_path):
    before = build_package(fn, CONFIG).zip_bytes
    shutil.rmtree(fn / "node_modules")
    (fn / "node_modules").symlink_to(tmp_path, target_is_directory=True)
    assert build_package(fn, CONFIG).zip_bytes == before


# -- config.json: declared, the folder's own, or none ---------------------------------------


def test_without_a_declared_config_the_folders_own_config_json_ships_as_is(fn):
    package = build_package(fn, {})
    archive = zipfile.ZipFile(io.BytesIO(package.zip_bytes))
    assert archive.read("config.json") == b'{"tableName": "local-dev"}'


def test_without_any_config_the_package_has_no_config_json(fn):
    (fn / "config.json").unlink()
    assert "config.json" not in build_package(fn, None).files
    assert "config.json" not in build_package(fn, {}).files


# -- content_digest: the files, not the zip -------------------------------------------------


def _hand_zip(files: dict[str, bytes], **kw) -> bytes:
    """Zipped like a console or `zip -r`: real timestamps, deflate, directory entries,
    another order, other modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("lib/", date_time=(2024, 5, 6, 7, 8, 10)), b"")
        for i, (name, data) in enumerate(sorted(files.items(), reverse=True)):
            info = zipfile.ZipInfo("./" + name if i % 2 else name, date_time=(2024, 5, 6, 7, 8, 10 + 2 * i))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if i % 2 else 0o100600) << 16
            info.create_system = 0  # "made by" MS-DOS
            archive.writestr(info, data, **kw)
        archive.comment = b"zipped by hand"
    return buffer.getvalue()


def test_a_hand_made_zip_of_the_same_files_has_the_same_content_digest(fn):
    package = build_package(fn, CONFIG)
    archive = zipfile.ZipFile(io.BytesIO(package.zip_bytes))
    files = {name: archive.read(name) for name in archive.namelist()}
    by_hand = _hand_zip(files)
    assert by_hand != package.zip_bytes
    assert content_digest(by_hand) == package.content_digest == content_digest(package.zip_bytes)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: {**f, "index.mjs": f["index.mjs"] + b"\n"},  # a byte of content
        lambda f: {**{k: v for k, v in f.items() if k != "lib/util.mjs"}, "lib/util2.mjs": f["lib/util.mjs"]},
        lambda f: {k: v for k, v in f.items() if k != "config.json"},  # a file less
        lambda f: {**f, "extra.txt": b""},  # an empty file more
    ],
    ids=["content", "path", "file-removed", "file-added"],
)
def test_the_content_digest_changes_with_any_file(fn, change):
    package = build_package(fn, CONFIG)
    archive = zipfile.ZipFile(io.BytesIO(package.zip_bytes))
    files = {name: archive.read(name) for name in archive.namelist()}
    assert content_digest(_hand_zip(change(files))) != package.content_digest


def test_content_digest_of_something_else_is_a_package_error():
    with pytest.raises(PackageError, match="not a zip"):
        content_digest(b"not a zip")
