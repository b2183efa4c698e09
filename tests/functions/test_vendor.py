"""The committed JavaScript (acorn, the runtime SDK stand-in) is what js/vendor.sh makes
from js/package-lock.json, so the lockfile is the one place versions are chosen."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.functions.node import JS_DIR, RUNTIME_SDK_DIR, VENDOR_DIR

LOCK = JS_DIR / "package-lock.json"
OUTPUTS = (VENDOR_DIR, RUNTIME_SDK_DIR)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_manifest_records_this_lockfile_and_its_versions() -> None:
    manifest = json.loads((RUNTIME_SDK_DIR / "MANIFEST.json").read_text())
    assert manifest["lockfileSha256"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    locked = json.loads(LOCK.read_text())["packages"]
    for name, version in manifest["packages"].items():
        assert locked[f"node_modules/{name}"]["version"] == version
        stand_in = json.loads((RUNTIME_SDK_DIR / name / "package.json").read_text())
        assert stand_in["version"] == version
    for name in ("acorn", "acorn-walk"):
        assert f"{name} {locked[f'node_modules/{name}']['version']} " in (
            VENDOR_DIR / "THIRD_PARTY_NOTICES.txt"
        ).read_text()


@pytest.mark.slow
def test_vendor_sh_rebuilds_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (needed only to rebuild the vendored JavaScript)")
    build = tmp_path / "js"
    build.mkdir()
    for name in ("package.json", "package-lock.json", "build_vendor.mjs", "vendor.sh"):
        shutil.copy2(JS_DIR / name, build / name)
    subprocess.run(["bash", str(build / "vendor.sh")], check=True, capture_output=True, timeout=300)
    for committed in OUTPUTS:
        assert _files(build / committed.name) == _files(committed), committed.name
