"""The Terraform AWS provider (Go SDK v2: its own signing, retries and parsing) manages
CloudFront on the sandbox and converges: apply, then an empty plan.

A client that reads back what it wrote never converges when the emulator returns values
AWS does not (moto's defaults made this provider plan `ssl_support_method = "sni-only" ->
null` forever). Runs only where Terraform and the provider are installed (this machine
has a filesystem mirror in /opt/tf-plugins; set TF_PLUGIN_MIRROR for another one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox._clients import handle, stock_boto3

CONFIG = Path(__file__).parent / "terraform" / "main.tf"
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
PROVIDER = MIRROR / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0"

# Opt-in: the provider's start-up makes this test take 20 s on an idle machine and 90 s
# on a busy one (each terraform command loads a 600 MB plugin), too much for every run.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("TERRAFORM_TESTS") != "1",
        reason="set TERRAFORM_TESTS=1 to run Terraform's AWS provider against the sandbox",
    ),
    pytest.mark.skipif(
        shutil.which("terraform") is None or not PROVIDER.is_dir(),
        reason="terraform or its AWS provider 5.100.0 (filesystem mirror) is not installed",
    ),
]


def test_terraform_applies_and_then_plans_nothing(aws: Any, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG.read_text())
    (tmp_path / "terraformrc").write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{MIRROR}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    sandbox = handle(aws.server)
    env = {
        **sandbox.process_env(),  # credentials, region, HTTP_PROXY = the sandbox
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    endpoint = f"-var=endpoint={sandbox.client_url}"

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args, "-no-color", "-input=false"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    init = terraform("init")
    assert init.returncode == 0, init.stderr
    applied = terraform("apply", "-auto-approve", endpoint)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr
    # 0 = no changes: every attribute the provider read back equals what it wrote.
    plan = terraform("plan", "-detailed-exitcode", endpoint)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr

    state = json.loads((tmp_path / "terraform.tfstate").read_text())
    resources = {
        f"{r['type']}.{r['name']}": r["instances"][0]["attributes"] for r in state["resources"]
    }
    certificate = resources["aws_cloudfront_distribution.shop"]["viewer_certificate"][0]
    assert certificate["ssl_support_method"] == "" and certificate["acm_certificate_arn"] == ""
    assert (
        resources["aws_cloudfrontkeyvaluestore_key.premium"]["value"] == "premium-api.example.com"
    )
    # The provider's own acceptance test expects DEPLOYED once the function is associated.
    cloudfront = stock_boto3(aws.server, "cloudfront")
    assert cloudfront.describe_function(Name="tf-router")["FunctionSummary"]["Status"] == "DEPLOYED"
