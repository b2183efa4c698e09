"""The lock files (requirements/*.txt) are what every install path installs, they satisfy
pyproject.toml, and every pin carries hashes.

Install paths: `make install` (which `make run`, `make test` and so .ci/run go through) and
the image build (Dockerfile). A pip call that resolves on its own (no --require-hashes
-r requirements/..., nor --no-deps for the project itself) fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCKS = {name: REPO / "requirements" / f"{name}.txt" for name in ("dev", "runtime", "build", "tools")}


def _pins(path: Path) -> dict[str, str]:
    return {
        canonicalize_name(m[1]): m[2]
        for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", path.read_text(), re.M)
    }


def _commands(text: str) -> list[str]:
    """Shell commands of a Makefile recipe or Dockerfile RUN, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line for line in joined.splitlines() if not line.lstrip().startswith("#")]
    return [c.strip() for line in lines for c in re.split(r"&&|;", line)]


def _pip_installs(text: str) -> list[str]:
    return [c for c in _commands(text) if re.search(r"\bpip( |3 )?.*\binstall\b", c)]


def _locked(command: str) -> bool:
    if "--no-deps" in command and not re.search(r"\s-r\s", command):
        return True  # the project itself (its dependencies come from the lock)
    files = re.findall(r"\s-r\s+(\S+)", command)
    return "--require-hashes" in command and bool(files) and all(
        f.removeprefix("/src/").startswith("requirements/") for f in files
    )


def test_ci_runs_the_readme_test_command_which_installs_from_the_lock() -> None:
    ci = (REPO / ".ci/run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^test: install\b", makefile, re.M)
    assert re.search(r"^run: install\b", makefile, re.M)


@pytest.mark.parametrize("path", ["Makefile", "Dockerfile"])
def test_every_pip_install_uses_the_lock(path: str) -> None:
    installs = _pip_installs((REPO / path).read_text())
    assert installs, f"no pip install found in {path}"
    loose = [c for c in installs if not _locked(c)]
    assert not loose, f"{path}: pip installs that resolve on their own: {loose}"


def test_the_project_is_built_with_the_locked_backend() -> None:
    # No build isolation: pip would otherwise fetch the newest hatchling, unhashed.
    for path in ("Makefile", "Dockerfile"):
        commands = _commands((REPO / path).read_text())
        builds = [c for c in commands if re.search(r"pip .*(install .*(-e|\.whl|\s\.$)|wheel)", c)]
        builds = [c for c in builds if "-r " not in c]
        assert builds, path
        for command in builds:
            assert "--no-deps" in command, (path, command)
            if re.search(r"\bpip wheel\b|\s-e\s", command):
                assert "--no-build-isolation" in command, (path, command)


def test_the_image_installs_the_runtime_lock_and_the_build_lock() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "requirements/runtime.txt" in dockerfile and "requirements/build.txt" in dockerfile
    assert "npm install" not in dockerfile


def test_every_pin_has_hashes() -> None:
    for name, path in LOCKS.items():
        text = path.read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for block in blocks:
            if not block.strip() or block.startswith("#"):
                continue
            assert re.match(r"^[A-Za-z0-9._-]+==\S+", block), (name, block[:80])
            assert "--hash=sha256:" in block, (name, block.split()[0])


def _satisfied(requirements: list[str], pins: dict[str, str], where: str) -> None:
    for text in requirements:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name == canonicalize_name(PYPROJECT["project"]["name"]):
            continue  # the project's own extras (none left that add packages)
        assert name in pins, f"{req.name} is not in {where}: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{where} pins {req.name}=={pins[name]}, pyproject.toml asks {req.specifier}: "
            "run `make lock`"
        )


def test_the_locks_satisfy_pyproject() -> None:
    project = PYPROJECT["project"]
    runtime, dev = _pins(LOCKS["runtime"]), _pins(LOCKS["dev"])
    _satisfied(project["dependencies"], runtime, "requirements/runtime.txt")
    _satisfied(project["dependencies"] + project["optional-dependencies"]["dev"], dev, "dev.txt")
    # The image and the tests run the same versions: runtime is dev's subset.
    assert {n: dev.get(n) for n in runtime} == runtime
    _satisfied(PYPROJECT["build-system"]["requires"], _pins(LOCKS["build"]), "build.txt")


def test_build_in_is_the_build_system_of_pyproject() -> None:
    lines = (REPO / "requirements/build.in").read_text().splitlines()
    wanted = [line for line in lines if line and not line.startswith("#")]
    assert set(PYPROJECT["build-system"]["requires"]) <= set(wanted)
    assert set(wanted) - set(PYPROJECT["build-system"]["requires"]) == {"editables"}


def test_moto_is_pinned_exactly_without_the_server_extra() -> None:
    (moto,) = [
        Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("moto")
    ]
    assert str(moto.specifier) == "==5.2.5"
    assert "server" not in moto.extras and "all" not in moto.extras
    runtime = _pins(LOCKS["runtime"])
    for heavy in ("cfn-lint", "sympy", "networkx", "aws-xray-sdk", "openapi-spec-validator"):
        assert heavy not in runtime and heavy not in _pins(LOCKS["dev"]), heavy
    assert {"flask", "flask-cors"} <= set(runtime)  # moto's server needs them
