"""The shipped CI example and pre-commit hook, run for real: the script the workflow runs
(validate, then plan against the emulated AWS, Markdown comment), the hook's command, and
the plan command's error output in every format."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
import yaml
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "ci" / "route-plan.sh"
WORKFLOW = REPO / "examples" / "ci" / "github-actions-route-plan.yaml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
BIN = str(Path(sys.executable).parent)  # where `reconciler` is installed


@pytest.fixture(autouse=True)
def _no_log_lines_on_stdout() -> Iterator[None]:
    # The commands are invoked without the `main` group, which would route structlog to
    # stderr for the whole session; capture the pass's log events instead.
    with structlog.testing.capture_logs():
        yield


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"], **env}
    return subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300)


def test_the_workflow_runs_the_script_on_pull_requests_and_comments() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads `on` as true
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = workflow["jobs"]["plan"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert 'bash route-plan.sh "${{ matrix.env }}"' in runs
    assert any("github-script" in step.get("uses", "") for step in steps)


def test_the_script_posts_a_markdown_plan_from_the_emulated_aws(
    repo: Path, seeded, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from reconciler.aws.clients import AwsTarget

    assert isinstance(seeded, AwsTarget)
    comment = tmp_path / "comment.md"
    result = _run(
        ["bash", str(SCRIPT)],
        repo,
        AWS_ENDPOINT_URL=seeded.endpoint_url or "",
        PLAN_COMMENT=str(comment),
    )
    assert result.returncode == 0, result.stderr
    text = comment.read_text()
    assert text.startswith(
        "<!-- edge-routing-plan:default -->\nEnvironment: `(none)`\n\n### Edge routing plan"
    )
    assert re.search(r"\*\*Plan: \d+ to create", text)
    assert "| `+` | `key_value_store.tier-origins` |" in text
    assert "Symbols: `+` create" in text


def test_the_script_comments_validation_errors_and_fails(repo: Path, tmp_path: Path) -> None:
    (repo / "routes" / "tiers.yaml").write_text(
        (repo / "routes" / "tiers.yaml")
        .read_text()
        .replace("premium-api.example.com", "https://x|y")
    )
    comment = tmp_path / "comment.md"
    result = _run(
        ["bash", str(SCRIPT)],
        repo,
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        PLAN_COMMENT=str(comment),
    )
    assert result.returncode == 1
    text = comment.read_text()
    assert "| file | line | column | field | message | code |" in text
    assert "| `routes/tiers.yaml` | 15 | 5 | `spec.entries.premium` |" in text
    assert "https://x\\|y" in text  # the pipe cannot break the table


def test_plan_prints_invalid_route_files_in_the_format_asked(repo: Path) -> None:
    from reconciler.cli import plan

    (repo / "routes" / "policy.yaml").write_text("kind: Nope\n")
    args = ["--routes", str(repo / "routes"), "--endpoint-url", "http://127.0.0.1:9"]
    as_json = CliRunner().invoke(plan.command, [*args, "--format", "json"])
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert payload["valid"] is False and payload["outcome"] == "invalid"
    assert payload["errors"][0]["code"] == "kind-unknown"
    as_markdown = CliRunner().invoke(plan.command, [*args, "--format", "markdown"])
    assert as_markdown.exit_code == 1
    assert as_markdown.stdout.startswith("### Edge routing plan\n\n**The route files are invalid: ")
    assert "| `routes/policy.yaml` | 1 | 1 | `kind` |" in as_markdown.stdout, as_markdown.stdout
    as_text = CliRunner().invoke(plan.command, args)
    assert as_text.exit_code == 1 and as_text.stdout == ""
    assert "routes/policy.yaml:1:1: kind: unknown kind 'Nope'" in as_text.stderr


def test_plan_takes_the_environment(tmp_path: Path) -> None:
    from reconciler.cli import plan

    shutil.copytree(REPO / "examples" / "environments", tmp_path / "repo")
    routes = str(tmp_path / "repo" / "routes")
    args = ["--routes", routes, "--endpoint-url", "http://127.0.0.1:9", "--format", "json"]
    # Without an environment the variables are undefined: reported, nothing observed.
    missing = CliRunner().invoke(plan.command, args)
    assert missing.exit_code == 1
    assert {e["code"] for e in json.loads(missing.stdout)["errors"]} == {"var-undefined"}


def test_the_pre_commit_hook_validates_every_environment(tmp_path: Path) -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text())
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert all(
        files.search(p)
        for p in (
            "routes/t.yaml",
            "routes/tenants/a.jsonl",
            "environments/prod.yaml",
            "edge_functions/x/index.js",
        )
    )
    assert not files.search("README.md")
    shutil.copytree(REPO / "examples" / "environments", tmp_path / "repo")
    ok = _run(shlex.split(hook["entry"]), tmp_path / "repo")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (
        "environment production: valid" in ok.stdout and "environment staging: valid" in ok.stdout
    )
    (tmp_path / "repo" / "environments" / "production.yaml").write_text("ENVIRONMENT: production\n")
    broken = _run(shlex.split(hook["entry"]), tmp_path / "repo")
    assert broken.returncode == 1
    assert "# environment production" in broken.stdout and "[var-undefined]" in broken.stdout


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_validate_markdown_and_json_for_several_environments(tmp_path: Path, fmt: str) -> None:
    from reconciler.cli import validate

    shutil.copytree(REPO / "examples" / "environments", tmp_path / "repo")
    (tmp_path / "repo" / "environments" / "staging.yaml").write_text("ENVIRONMENT: staging\n")
    result = CliRunner().invoke(
        validate.command, [str(tmp_path / "repo" / "routes"), "--all-envs", "--format", fmt]
    )
    assert result.exit_code == 1
    if fmt == "json":
        payload = json.loads(result.stdout)
        assert payload["valid"] is False
        assert payload["environments"]["production"]["valid"] is True
        assert payload["environments"]["staging"]["errors"][0]["code"] == "var-undefined"
    else:
        assert "environment staging: " in result.stdout and "| `routes/" in result.stdout
