"""Finding Node.js and the harness's JavaScript, with errors that say how to fix.

Everything the harness runs ships inside this package (no `npm ci` at install time):
the harness scripts, acorn (js/vendor/, copied verbatim) and the stand-in of the Lambda
Node.js runtime's AWS SDK (js/runtime_sdk/, one esbuild bundle). Both are rebuilt from
js/package-lock.json by js/vendor.sh; see docs/edge-functions.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

JS_DIR = Path(__file__).parent / "js"
VENDOR_DIR = JS_DIR / "vendor"
# Laid out like a node_modules folder: @aws-sdk/<name>/{package.json,index.js}.
RUNTIME_SDK_DIR = JS_DIR / "runtime_sdk"
_REBUILD = "reconciler/functions/js/vendor.sh"


class HarnessError(RuntimeError):
    """The harness itself failed (not the function under test)."""


class HarnessNotInstalled(HarnessError):
    """Node or a part of the harness is missing; the message says what to do."""


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise HarnessNotInstalled("node is not on PATH: install Node.js 20 or newer")
    return node


def _require(path: Path) -> Path:
    if not path.is_file():
        raise HarnessNotInstalled(
            f"{path} is missing from the installed package: reinstall edge-routing-reconciler "
            f"(in a checkout, {_REBUILD} rebuilds it from the lockfile)"
        )
    return path


def harness_script(name: str) -> Path:
    _require(VENDOR_DIR / "acorn.mjs")
    _require(VENDOR_DIR / "acorn-walk.mjs")
    return _require(JS_DIR / name)


def runtime_sdk_dir() -> Path:
    """The folder standing in for the Lambda runtime's node_modules (the AWS SDK v3)."""
    _require(RUNTIME_SDK_DIR / "@aws-sdk" / "client-dynamodb" / "index.js")
    return RUNTIME_SDK_DIR
