"""The generated IAM policy (`reconciler iam-policy`, committed as deploy/iam-policy.json
for the example routes) grants what the daemon calls, scoped to what the files declare.

Two checks that fail on a new AWS call nobody added to the generator:
- statically: every boto3 operation in the daemon's modules (tests/ops/boto_calls.py),
  plus the permissions AWS requires beyond the call itself (IMPLIED);
- on the wire: every operation a whole pass over the example routes sends to the
  emulated AWS (and, for deploy/iam-policy-import.json, every one an import sends).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.aws.clients import AwsTarget
from reconciler.cli.iam_policy import command, daemon_policy, import_policy, render
from tests.data import wire
from tests.ops.boto_calls import _client, iam_action, operations

REPO = Path(__file__).resolve().parents[2]
POLICY = json.loads((REPO / "deploy/iam-policy.json").read_text())
IMPORT_POLICY = json.loads((REPO / "deploy/iam-policy-import.json").read_text())
LEADER = REPO / "reconciler/daemon/leader.py"

ACCOUNT = "123456789012"
# The command that wrote deploy/iam-policy.json (the examples' lease table included, so the
# policy also serves RECONCILER_LEADER_ELECTION=true).
EXAMPLE_ARGS = ["--routes-dir", "routes", "--lease-table", "reconciler-leases"]

# What the daemon runs in production: the adapters, the pass (reconciler/engine), the
# daemon shell.
DAEMON_MODULES = [
    *sorted((REPO / "reconciler/aws").glob("*.py")),
    *sorted((REPO / "reconciler/engine").rglob("*.py")),
    *sorted((REPO / "reconciler/daemon").glob("*.py")),
]

# Permissions a call needs besides its own action (AWS documents these; no boto3 call
# shows them).
IMPLIED = {
    # The routing-table adapter creates tables with Tags.
    "dynamodb:CreateTable": {"dynamodb:TagResource"},
    # Associating Lambda@Edge versions (CloudFront developer guide, "IAM permissions
    # required to associate Lambda@Edge functions with CloudFront distributions").
    "cloudfront:UpdateDistribution": {
        "lambda:GetFunction",
        "lambda:EnableReplication*",
        "lambda:DisableReplication*",
        "iam:CreateServiceLinkedRole",
    },
    # Creating or reconfiguring a function hands it its execution role.
    "lambda:CreateFunction": {"iam:PassRole"},
    "lambda:UpdateFunctionConfiguration": {"iam:PassRole"},
}


def _allowed(policy: dict[str, object]) -> list[str]:
    actions: list[str] = []
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions += [found] if isinstance(found, str) else found
    return actions


def _covered(action: str, allowed: list[str]) -> bool:
    # IAM action names are case-insensitive; wildcards as in IAM.
    return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in allowed)


def _needed() -> set[str]:
    needed = {iam_action(s, op) for path in DAEMON_MODULES for s, op in operations(path)}
    for action in list(needed):
        needed |= IMPLIED.get(action, set())
    return needed


def test_policy_covers_every_operation_the_daemon_calls() -> None:
    allowed = _allowed(POLICY)
    missing = sorted(a for a in _needed() if not _covered(a, allowed))
    assert not missing, f"add to deploy/iam-policy.json: {missing}"


def test_policy_grants_nothing_the_daemon_does_not_call() -> None:
    needed = _needed()
    statements = {
        s["Sid"]: [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        for s in POLICY["Statement"]
    }
    unused = []
    for sid, actions in statements.items():
        if sid == "LeaderLease" and not LEADER.exists():
            continue  # leader election's lease table: used once reconciler/daemon/leader.py exists
        unused += [f"{sid}: {a}" for a in actions if a not in needed]
    assert not unused, f"not called by the daemon (remove, or explain in IMPLIED): {unused}"


def test_a_new_call_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "new_adapter.py"
    module.write_text(
        "from reconciler.aws.clients import make_client\n"
        "class Adapter:\n"
        "    def __init__(self, target):\n"
        "        self._cf = make_client('cloudfront', target)\n"
        "    def gone(self, id, etag):\n"
        "        self._cf.delete_distribution(Id=id, IfMatch=etag)\n"
    )
    (action,) = {iam_action(s, op) for s, op in operations(module)}
    assert action == "cloudfront:DeleteDistribution"
    assert not _covered(action, _allowed(POLICY))


def _wire_actions(endpoint: str) -> set[str]:
    return {f"{service}:{op}" for service, ops in wire.calls(endpoint).items() for op in ops}


@pytest.fixture
def counted(aws, seeded: AwsTarget) -> AwsTarget:  # type: ignore[no-untyped-def]
    wire.reset_calls(aws.endpoint_url)  # the seed's own calls are not the reconciler's
    return seeded


def _cli(*args: str, endpoint: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The one place a whole pass or an import is run: the CLI, as an operator runs it."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args, "--endpoint-url", endpoint],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip


def _apply(repo: Path, target: AwsTarget) -> None:
    """A whole pass over the repository, in process, with the compute-utilization gate at
    100 % (that gate is not under test here)."""
    from reconciler.engine import EngineSettings, GateSettings, Outcome, Reconciler

    settings = EngineSettings(gate=GateSettings(max_compute_utilization=100))
    reconciler = Reconciler(repo / "routes", repo, target, settings=settings)
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors


# moto's extra for each AWS service the sandbox serves (pyproject.toml's moto extras).
MOTO_EXTRA = {"lambda": "awslambda"}


def test_a_whole_pass_sends_only_what_the_generated_policy_allows(  # type: ignore[no-untyped-def]
    aws, repo: Path, counted: AwsTarget
) -> None:
    _apply(repo, counted)
    sent = _wire_actions(aws.endpoint_url)
    assert "cloudfront:UpdateDistribution" in sent and "lambda:PublishVersion" in sent
    allowed = _allowed(daemon_policy(repo / "routes", ACCOUNT, "us-east-1"))
    assert not sorted(a for a in sent if not _covered(a, allowed))
    # The services a pass needs are the moto extras the install has (plus the sandbox's own
    # KeyValueStore data plane).
    extras = re.search(r'"moto\[([^\]]+)\]', (REPO / "pyproject.toml").read_text())
    assert extras is not None
    services = {a.split(":")[0] for a in sent} - {"cloudfront-keyvaluestore"}
    assert {MOTO_EXTRA.get(s, s) for s in services} <= set(extras[1].split(","))


def test_an_import_sends_only_what_the_import_policy_allows(  # type: ignore[no-untyped-def]
    aws, repo: Path, counted: AwsTarget, tmp_path: Path
) -> None:
    _apply(repo, counted)
    wire.reset_calls(aws.endpoint_url)
    result = _cli("import", "--out", str(tmp_path / "adopted"),
                  "--table", "tenant-routing-config-prod",
                  "--distribution-comment", "edge-routing-example",
                  endpoint=aws.endpoint_url, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # The Lambda package comes from GetFunction's presigned Code.Location: an S3 GET that
    # the URL's signature authorizes, not the caller's policy.
    sent = _wire_actions(aws.endpoint_url) - {"s3:GetObject"}
    assert "cloudfront-keyvaluestore:ListKeys" in sent and "dynamodb:Scan" in sent
    allowed = _allowed(IMPORT_POLICY)
    assert not sorted(a for a in sent if not _covered(a, allowed))
    # Read-only: an import never writes.
    assert not [
        a
        for a in allowed
        if a.split(":")[1].startswith(("Create", "Update", "Put", "Delete", "Publish"))
    ]


# -- the generator --------------------------------------------------------------------


def test_the_committed_policies_are_the_generators_output() -> None:
    # On failure: `reconciler iam-policy --routes-dir routes --lease-table reconciler-leases
    # --out deploy/iam-policy.json` and `reconciler iam-policy --import --out
    # deploy/iam-policy-import.json`.
    result = CliRunner().invoke(command, EXAMPLE_ARGS, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output == (REPO / "deploy/iam-policy.json").read_text()
    result = CliRunner().invoke(command, ["--import"], catch_exceptions=False)
    assert result.output == (REPO / "deploy/iam-policy-import.json").read_text()
    assert render(import_policy(ACCOUNT, "us-east-1")) == result.output


def _resources(policy: dict[str, object], action: str) -> set[str]:
    found: set[str] = set()
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action in actions:
            res = statement["Resource"]
            found |= set(res if isinstance(res, list) else [res])
    return found


@pytest.fixture
def console_repo(repo: Path) -> Path:
    """The examples as a console set-up would name things: a role with a path, a table in
    another region, the distribution by id."""
    tenants = repo / "routes/tenants.yaml"
    tenants.write_text(tenants.read_text().replace(
        "role/tenant-router-edge", "role/service-role/tenantRouter-role-k3x9q2"))  # fmt: skip
    distribution = repo / "routes/distribution.yaml"
    distribution.write_text(distribution.read_text().replace(
        "comment: edge-routing-example", "id: E2EXAMPLE12345"))  # fmt: skip
    return repo


def test_scoped_to_the_declared_resources(console_repo: Path) -> None:
    policy = daemon_policy(console_repo / "routes", "210987654321", "eu-west-1")
    # The role ARN is the file's, path included (the console's service-role/ path).
    role = "arn:aws:iam::123456789012:role/service-role/tenantRouter-role-k3x9q2"
    assert _resources(policy, "iam:PassRole") == {role}
    assert _resources(policy, "iam:GetRole") == {role}
    fn = "arn:aws:lambda:us-east-1:210987654321:function:tenant-router"
    # Old versions are deleted, never the function itself.
    assert _resources(policy, "lambda:DeleteFunction") == {f"{fn}:*"}
    assert _resources(policy, "lambda:EnableReplication*") == {f"{fn}:*"}
    assert _resources(policy, "lambda:PublishVersion") == {fn}
    table = "arn:aws:dynamodb:eu-west-1:210987654321:table/tenant-routing-config-prod"
    assert _resources(policy, "dynamodb:BatchWriteItem") == {table}
    assert _resources(policy, "dynamodb:CreateTable") == {table}
    assert _resources(policy, "cloudfront:UpdateDistribution") == {
        "arn:aws:cloudfront::210987654321:distribution/E2EXAMPLE12345"
    }
    assert _resources(policy, "cloudfront:PublishFunction") == {
        "arn:aws:cloudfront::210987654321:function/tier-router"
    }
    # By id: no listing of distributions; no lease table unless asked.
    assert not _resources(policy, "cloudfront:ListDistributions")
    assert not _resources(policy, "dynamodb:PutItem")


def test_store_arns_and_distribution_ids_narrow_what_the_files_cannot_know(repo: Path) -> None:
    store = "arn:aws:cloudfront::123456789012:key-value-store/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    result = CliRunner().invoke(command, [
        "--routes-dir", str(repo / "routes"), "--store-arn", f"tier-origins={store}",
        "--distribution-id", "shop=E2EXAMPLE12345"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    policy = json.loads(result.output)
    assert _resources(policy, "cloudfront-keyvaluestore:UpdateKeys") == {store}
    assert not _resources(policy, "cloudfront:CreateKeyValueStore")
    assert _resources(policy, "cloudfront:GetDistribution") == {
        "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE12345"
    }
    assert not _resources(policy, "cloudfront:ListDistributions")


def test_invalid_route_files_are_an_error_naming_the_file(repo: Path) -> None:
    tiers = repo / "routes/tiers.yaml"
    tiers.write_text(tiers.read_text().replace("prune: true", "prune: true\n  bogus: 1", 1))
    result = CliRunner().invoke(command, ["--routes-dir", str(repo / "routes")])
    assert result.exit_code == 1 and "tiers.yaml" in result.output


ARN_FORMATS = {
    # Service Authorization Reference, "Resource types defined by ..." for each service.
    "cloudfront": r"^arn:aws:cloudfront::\d{12}:(distribution|function|key-value-store)/[\w*.-]+$",
    "cloudfront-keyvaluestore": r"^arn:aws:cloudfront::\d{12}:key-value-store/[\w*-]+$",
    # a table, or its stream (table/NAME/stream/LABEL: DynamoDB Streams' actions)
    "dynamodb": r"^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/[\w.*-]+(/stream/[\w.*:-]+)?$",
    "lambda": r"^arn:aws:lambda:us-east-1:\d{12}:function:[\w*-]+(:\*)?$",
    "iam": r"^arn:aws:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]+$",
}


@pytest.mark.parametrize("policy", [POLICY, IMPORT_POLICY], ids=["daemon", "import"])
def test_action_names_and_resource_formats(policy: dict[str, object]) -> None:
    for statement in policy["Statement"]:  # type: ignore[attr-defined]
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            service, name = action.split(":")
            # EnableReplication*: CloudFront's documented wildcard; PassRole is a permission
            # only (no API operation of that name).
            if "*" not in name and action != "iam:PassRole":
                # IAM's dynamodb: prefix also covers DynamoDB Streams' operations.
                clients = [_client(service)] + (
                    [_client("dynamodbstreams")] if service == "dynamodb" else []
                )
                assert any(
                    name in c.meta.service_model.operation_names for c in clients
                ), action
            for resource in resources:
                if resource != "*":
                    assert re.match(ARN_FORMATS[service], resource), (action, resource)
