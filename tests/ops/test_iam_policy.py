"""deploy/iam-policy.json grants what the daemon calls, and nothing it does not.

Two checks that fail on a new AWS call nobody added to the policy:
- statically: every boto3 operation in the daemon's modules (tests/ops/boto_calls.py),
  plus the permissions AWS requires beyond the call itself (IMPLIED);
- on the wire: every operation a whole pass over the example routes sends to the
  emulated AWS (and, for deploy/iam-policy-import.json, every one an import sends).
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from reconciler.aws.clients import AwsTarget
from reconciler.importer import ImportRequest, run_import
from reconciler.pass_report import Outcome
from reconciler.passes import Reconciler
from tests.data import wire
from tests.ops.boto_calls import iam_action, operations

REPO = Path(__file__).resolve().parents[2]
POLICY = json.loads((REPO / "deploy/iam-policy.json").read_text())
IMPORT_POLICY = json.loads((REPO / "deploy/iam-policy-import.json").read_text())
LEADER = REPO / "reconciler/daemon/leader.py"

# What the daemon runs in production: the adapters, the pass, the daemon shell.
DAEMON_MODULES = [
    *sorted((REPO / "reconciler/aws").glob("*.py")),
    REPO / "reconciler/passes.py",
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


def test_a_whole_pass_sends_only_allowed_operations(aws, repo: Path, counted: AwsTarget) -> None:  # type: ignore[no-untyped-def]
    reconciler = Reconciler(repo / "routes", repo, counted, max_compute_utilization=100)
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    sent = _wire_actions(aws.endpoint_url)
    assert "cloudfront:UpdateDistribution" in sent and "lambda:PublishVersion" in sent
    allowed = _allowed(POLICY)
    assert not sorted(a for a in sent if not _covered(a, allowed))


def test_an_import_sends_only_what_the_import_policy_allows(  # type: ignore[no-untyped-def]
    aws, repo: Path, counted: AwsTarget, tmp_path: Path
) -> None:
    Reconciler(repo / "routes", repo, counted, max_compute_utilization=100).run_pass(dry_run=False)
    wire.reset_calls(aws.endpoint_url)
    request = ImportRequest(
        out=tmp_path / "adopted",
        tables=("tenant-routing-config-prod",),
        distribution_comments=("edge-routing-example",),
    )
    assert run_import(request, counted).errors == []
    # The Lambda package comes from GetFunction's presigned Code.Location: an S3 GET that
    # the URL's signature authorizes, not the caller's policy.
    sent = _wire_actions(aws.endpoint_url) - {"s3:GetObject"}
    allowed = _allowed(IMPORT_POLICY)
    assert not sorted(a for a in sent if not _covered(a, allowed))
    # Read-only: an import never writes.
    assert not [
        a
        for a in allowed
        if a.split(":")[1].startswith(("Create", "Update", "Put", "Delete", "Publish"))
    ]
