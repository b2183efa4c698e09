"""Installed as a package, it works: a wheel built from this checkout, pip-installed into a
clean virtualenv (no checkout on the path, no npm step), runs `reconciler test-functions`,
`reconciler sandbox` with TestFunction, and the local edge (`reconciler smoke`), on the
seed's verbatim code.

First the plain install (what the default container image installs: no extras), then
the `sandbox` extra. Slow (a wheel build, a virtualenv and two pip installs: about 40 s
with pip's cache warm on 2 cores), and part of `make test`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.edge.seed_code import FIXTURE
from tests.support.sandbox_process import read_exports

REPO = Path(__file__).resolve().parents[2]
# Where the project locks its dependencies (hashes), its install paths use the lock; so
# does this test then. Without one, pip resolves pyproject's ranges.
RUNTIME_LOCK = REPO / "requirements" / "runtime.txt"
pytestmark = pytest.mark.slow


def _clean_env(venv: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "RECONCILER_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv, a scratch folder outside the checkout) with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    # With the build backend at hand (a locked one), no isolated build environment.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(root / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (root / "dist").glob("*.whl")
    venv = root / "venv"
    # Without pip of its own (ensurepip costs seconds): this process's pip installs into
    # it with --python. The virtualenv still holds nothing but what the wheel requires.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling botocore's thousands of modules is most of an install's
    # time, and nothing here needs the .pyc files.
    _install(venv, str(wheel))
    return venv, root


def _install(venv: Path, requirement: str) -> None:
    if RUNTIME_LOCK.is_file():
        subprocess.run(
            [*_pip(venv), "--require-hashes", "-r", str(RUNTIME_LOCK)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        command = [*_pip(venv), "--no-deps", requirement]
    else:
        command = [*_pip(venv), requirement]
    subprocess.run(command, check=True, capture_output=True, timeout=600)


def _pip(venv: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
            "-q", "--no-compile", "--disable-pip-version-check"]


def _reconciler(venv: Path, cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "reconciler"), *args],
        cwd=cwd,
        env=_clean_env(venv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_package_runs_from_site_packages_not_the_checkout(installed: tuple[Path, Path]) -> None:
    venv, root = installed
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=root,
        env=_clean_env(venv),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "site-packages" in where and str(REPO) not in where
    assert not list(Path(where).parent.rglob("node_modules"))


def test_test_functions_with_the_default_install(installed: tuple[Path, Path]) -> None:
    """No extras, as in the default image: the harness, acorn, the runtime SDK stand-in and
    the emulated DynamoDB all come with the package."""
    venv, root = installed
    repo = root / "walkthrough"
    shutil.copytree(FIXTURE, repo, dirs_exist_ok=True)
    done = _reconciler(venv, root, "test-functions", "--root", str(repo))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == "6/6 tests passed, 0 static findings"


@pytest.fixture(scope="module")
def with_sandbox_extra(installed: tuple[Path, Path]) -> tuple[Path, Path]:
    venv, root = installed
    (wheel,) = (root / "dist").glob("*.whl")
    _install(venv, f"{wheel}[sandbox]")
    return venv, root


def test_the_sandbox_answers_testfunction(with_sandbox_extra: tuple[Path, Path]) -> None:
    venv, root = with_sandbox_extra
    proc = subprocess.Popen(
        [str(venv / "bin" / "reconciler"), "sandbox", "--port", "0"],
        cwd=root,
        env=_clean_env(venv),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        exports = read_exports(proc, "AWS_ENDPOINT_URL")
        cf = boto3.client(
            "cloudfront",
            endpoint_url=exports["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        code = b"function handler(event) { console.log('from node ' + event.request.uri); return event.request; }"
        created = cf.create_function(
            Name="seed-tier-router",
            FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-2.0"},
            FunctionCode=code,
        )
        event = {
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": "198.51.100.1"},
            "request": {"method": "GET", "uri": "/", "querystring": {"CTIER": {"value": "basic"}},
                        "headers": {}, "cookies": {}},
        }
        tested = cf.test_function(
            Name="seed-tier-router",
            IfMatch=created["ETag"],
            Stage="DEVELOPMENT",
            EventObject=json.dumps(event).encode(),
        )["TestResult"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert tested.get("FunctionErrorMessage", "") == ""
    assert tested["FunctionExecutionLogs"] == ["from node /"]
    assert json.loads(tested["FunctionOutput"])["request"]["uri"] == "/"
    assert 0 < int(tested["ComputeUtilization"]) <= 100


def test_the_local_edge_serves_the_seeds_code(with_sandbox_extra: tuple[Path, Path]) -> None:
    venv, root = with_sandbox_extra
    repo = root / "walkthrough-smoke"
    shutil.copytree(FIXTURE, repo)
    done = _reconciler(venv, root, "smoke", "--routes-dir", str(repo / "routes"), "--root", str(repo))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("6/6 checks passed")
