"""scripts/image-prune.py: the image's emulated AWS, pruned to the services it serves,
still serves the whole walkthrough (apply, then the edge's checks), and what it removed
is really gone. Runs the script on a copy of this environment's moto and botocore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import botocore
import moto
import pytest

from tests.support.sandbox_process import read_exports

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site-packages")
    for package in (moto, botocore):
        shutil.copytree(Path(package.__file__).parent, site / package.__name__)
    # The script reads which moto modules the reconciler imports from its source.
    (site / "reconciler").symlink_to(REPO / "reconciler")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "image-prune.py"), str(site)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "image-prune: removed" in result.stdout, result.stdout
    (site / "reconciler").unlink()
    return site


def _env(site: Path, tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(site),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        **(extra or {}),
    }


def test_what_was_pruned_is_gone_and_what_is_served_stays(pruned: Path) -> None:
    assert not (pruned / "moto" / "ec2").exists()
    assert not (pruned / "botocore" / "data" / "ec2").exists()
    assert not list((pruned / "botocore" / "data").rglob("examples-1.json"))
    for service in ("cloudfront", "dynamodb", "dynamodbstreams", "awslambda", "iam", "s3", "sts"):
        assert (pruned / "moto" / service / "responses.py").is_file(), service
    for model in ("cloudfront", "cloudfront-keyvaluestore", "dynamodb", "lambda", "iam", "sts"):
        assert (pruned / "botocore" / "data" / model).is_dir(), model


def test_the_pruned_sandbox_serves_the_walkthrough(pruned: Path, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("the sandbox's TestFunction and the edge need node")
    env = _env(pruned, tmp_path)
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "--port", "0", "--edge-port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        exports = read_exports(sandbox, "RECONCILER_EDGE_URL")
        client_env = _env(pruned, tmp_path, exports)
        # The sandbox runs with the pruned packages: a module it no longer has is not there.
        probe = subprocess.run(
            [sys.executable, "-c", "import moto.ec2"], env=client_env, capture_output=True
        )
        assert probe.returncode != 0
        # A service it does not serve answers 500 (docs/operations.md, "The image").
        ec2 = urllib.request.Request(
            exports["AWS_ENDPOINT_URL"],
            data=b"Action=DescribeInstances&Version=2016-11-15",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/ec2/"
                "aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(ec2, timeout=30)
        assert refused.value.code == 500
        apply = subprocess.run(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve",
             "--endpoint-url", exports["AWS_ENDPOINT_URL"]],
            cwd=REPO, env=client_env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert apply.returncode == 0, apply.stdout + apply.stderr
        smoke = subprocess.run(
            [sys.executable, "-m", "reconciler", "smoke",
             "--edge-url", exports["RECONCILER_EDGE_URL"]],
            cwd=REPO, env=client_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "8/8 checks passed" in smoke.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
