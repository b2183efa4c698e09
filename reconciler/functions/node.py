"""Finding Node.js and the harness's npm dependencies, with errors that say how to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

JS_DIR = Path(__file__).parent / "js"


class HarnessError(RuntimeError):
    """The harness itself failed (not the function under test)."""


class HarnessNotInstalled(HarnessError):
    """Node or an npm dependency is missing; the message gives the command to run."""


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise HarnessNotInstalled("node is not on PATH: install Node.js 20 or newer")
    return node


def require_node_modules(folder: Path, package: str) -> None:
    """Fail with the install command when `folder`'s npm dependencies are not installed."""
    if not (folder / "node_modules" / package / "package.json").is_file():
        raise HarnessNotInstalled(
            f"{folder}/node_modules/{package} is missing: run `npm ci --prefix {folder}` "
            "(node_modules is not committed)"
        )


def harness_script(name: str) -> Path:
    require_node_modules(JS_DIR, "acorn")
    require_node_modules(JS_DIR, "acorn-walk")
    return JS_DIR / name
