"""`reconciler iam-policy`: the IAM policy the daemon needs for these route files, scoped to
the resources they declare (tables, functions and their versions, the edge roles, the
distribution), or with --import the read-only policy of `reconciler import`.

Action names and ARN formats follow AWS's Service Authorization Reference (CloudFront,
CloudFront KeyValueStore, DynamoDB, Lambda, IAM, STS). Where AWS makes the ARN and the route
files cannot know it, the policy says so with a wildcard limited to the account:
KeyValueStore ARNs end in an id CloudFront assigns (give --store-arn NAME=ARN once it
exists), and a distribution selected by alias or comment is found by listing (give
--distribution-id NAME=ID to narrow Get/UpdateDistribution to it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from reconciler.routes import RouteSetInvalid, load_route_set

LAMBDA_EDGE_REGION = "us-east-1"
# The service-linked roles CloudFront creates on the first Lambda@Edge association
# (Lambda@Edge developer guide, "Service-linked roles for Lambda@Edge").
SERVICE_LINKED_ROLES = {
    "replicator.lambda.amazonaws.com": "AWSServiceRoleForLambdaReplicator",
    "logger.cloudfront.amazonaws.com": "AWSServiceRoleForCloudFrontLogger",
}
LEASE_ACTIONS = ["DescribeTable", "CreateTable", "UpdateTimeToLive", "GetItem", "PutItem",
                 "UpdateItem", "DeleteItem"]  # fmt: skip


def _statement(sid: str, actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions[0] if len(actions) == 1 else actions,
        "Resource": resources[0] if len(resources) == 1 else resources,
        **extra,
    }


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint=option)
        out[name] = target
    return out


def daemon_policy(
    routes_dir: Path,
    account: str,
    region: str,
    *,
    store_arns: dict[str, str] | None = None,
    distribution_ids: dict[str, str] | None = None,
    lease_table: str | None = None,
) -> dict[str, Any]:
    """The daemon's policy for the route files in `routes_dir` (raises RouteSetInvalid)."""
    routes = load_route_set(routes_dir)
    store_arns, distribution_ids = store_arns or {}, distribution_ids or {}
    cf = f"arn:aws:cloudfront::{account}"
    statements: list[dict[str, Any]] = []

    listing = ["cloudfront:ListDistributions"] if any(
        d.spec.selector.id is None and name not in distribution_ids
        for name, d in routes.distributions.items()
    ) else []
    if any(b.cache_policy or b.origin_request_policy
           for d in routes.distributions.values() for b in d.spec.behaviors):  # fmt: skip
        listing += ["cloudfront:ListCachePolicies", "cloudfront:ListOriginRequestPolicies"]
    if listing:
        # List actions support no resource-level permissions.
        statements.append(_statement("FindDistributionsAndManagedPolicies", listing, ["*"]))
    if routes.distributions:
        ids = [distribution_ids.get(name) or d.spec.selector.id or "*"
               for name, d in sorted(routes.distributions.items())]  # fmt: skip
        resources = [f"{cf}:distribution/{i}" for i in dict.fromkeys(ids)]
        if f"{cf}:distribution/*" in resources:
            resources = [f"{cf}:distribution/*"]
        statements.append(_statement(
            "DistributionWiring", ["cloudfront:GetDistribution", "cloudfront:UpdateDistribution"],
            resources))  # fmt: skip
    if routes.cloudfront_functions:
        statements.append(_statement(
            "CloudFrontFunctions",
            ["cloudfront:DescribeFunction", "cloudfront:GetFunction", "cloudfront:CreateFunction",
             "cloudfront:UpdateFunction", "cloudfront:TestFunction", "cloudfront:PublishFunction"],
            [f"{cf}:function/{name}" for name in sorted(routes.cloudfront_functions)]))  # fmt: skip
    if routes.stores:
        known = [store_arns[name] for name in sorted(routes.stores) if name in store_arns]
        every = len(known) == len(routes.stores)
        stores = known if every else [f"{cf}:key-value-store/*"]
        # CreateKeyValueStore: the id is CloudFront's, no narrower resource exists.
        if not every:
            statements.append(_statement(
                "KeyValueStoreCreate", ["cloudfront:CreateKeyValueStore"],
                [f"{cf}:key-value-store/*"]))  # fmt: skip
        statements.append(_statement(
            "KeyValueStoreControlPlane", ["cloudfront:DescribeKeyValueStore"], stores))
        statements.append(_statement(
            "KeyValueStoreDataPlane",
            ["cloudfront-keyvaluestore:DescribeKeyValueStore", "cloudfront-keyvaluestore:ListKeys",
             "cloudfront-keyvaluestore:UpdateKeys"], stores))  # fmt: skip
    if routes.tables:
        statements.append(_statement(
            "RoutingTables",
            ["dynamodb:DescribeTable", "dynamodb:CreateTable", "dynamodb:TagResource",
             "dynamodb:Scan", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
             # UpdateTable: only StreamSpecification, for driftDetection: stream
             "dynamodb:UpdateTable"],
            [f"arn:aws:dynamodb:{region}:{account}:table/{t.table_name}"
             for _, t in sorted(routes.tables.items())]))  # fmt: skip
        # Resyncs follow each table's DynamoDB Stream (IAM names its actions dynamodb:*).
        statements.append(_statement(
            "RoutingTableStreams",
            ["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
            [f"arn:aws:dynamodb:{region}:{account}:table/{t.table_name}/stream/*"
             for _, t in sorted(routes.tables.items())]))  # fmt: skip
    if lease_table:
        statements.append(_statement(
            "LeaderLease", [f"dynamodb:{a}" for a in LEASE_ACTIONS],
            [f"arn:aws:dynamodb:{region}:{account}:table/{lease_table}"]))  # fmt: skip
    if routes.lambda_functions:
        fn = f"arn:aws:lambda:{LAMBDA_EDGE_REGION}:{account}:function"
        names = sorted(routes.lambda_functions)
        statements.append(_statement(
            "LambdaEdgeLifecycle",
            ["lambda:GetFunction", "lambda:GetFunctionConfiguration",
             "lambda:ListVersionsByFunction", "lambda:CreateFunction", "lambda:UpdateFunctionCode",
             "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion"],
            [f"{fn}:{name}" for name in names]))  # fmt: skip
        # Versions only (function:NAME:*): the reconciler deletes old versions, never a
        # whole function; CloudFront needs the replication permissions on the version ARN.
        statements.append(_statement(
            "LambdaEdgeVersions",
            ["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:DeleteFunction",
             "lambda:EnableReplication*", "lambda:DisableReplication*"],
            [f"{fn}:{name}:*" for name in names]))  # fmt: skip
        statements.append(_statement(
            "LambdaEdgeReplicatorRole", ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{account}:role/aws-service-role/{service}/{role}"
             for service, role in SERVICE_LINKED_ROLES.items()],
            Condition={"StringEquals": {"iam:AWSServiceName": sorted(SERVICE_LINKED_ROLES)}}))  # fmt: skip
        roles = sorted({f.spec.role for f in routes.lambda_functions.values()})
        statements.append(_statement("EdgeRoleTrustCheck", ["iam:GetRole"], roles))
        statements.append(_statement(
            "EdgeRolePass", ["iam:PassRole"], roles,
            Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))  # fmt: skip
    # AWS answers GetCallerIdentity whatever the policy says; listed for clarity.
    statements.append(_statement("AccountId", ["sts:GetCallerIdentity"], ["*"]))
    return {"Version": "2012-10-17", "Statement": statements}


def import_policy(account: str, region: str) -> dict[str, Any]:
    """Read-only: `reconciler import` discovers what exists, so names are not known yet."""
    cf = f"arn:aws:cloudfront::{account}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "ListDistributionsPoliciesAndStores",
                ["cloudfront:ListDistributions", "cloudfront:ListCachePolicies",
                 "cloudfront:ListOriginRequestPolicies", "cloudfront:ListKeyValueStores"],
                ["*"]),
            _statement("ReadDistributions", ["cloudfront:GetDistribution"],
                       [f"{cf}:distribution/*"]),
            _statement("ReadFunctions", ["cloudfront:DescribeFunction", "cloudfront:GetFunction"],
                       [f"{cf}:function/*"]),
            _statement("ReadStores", ["cloudfront:DescribeKeyValueStore"],
                       [f"{cf}:key-value-store/*"]),
            _statement(
                "ReadStoreEntries",
                ["cloudfront-keyvaluestore:DescribeKeyValueStore",
                 "cloudfront-keyvaluestore:ListKeys"],
                [f"{cf}:key-value-store/*"]),
            _statement("ReadTables", ["dynamodb:DescribeTable", "dynamodb:Scan"],
                       [f"arn:aws:dynamodb:{region}:{account}:table/*"]),
            _statement(
                "ReadLambdaEdgeVersions",
                ["lambda:GetFunction", "lambda:GetFunctionConfiguration",
                 "lambda:ListVersionsByFunction"],
                [f"arn:aws:lambda:{LAMBDA_EDGE_REGION}:{account}:function:*"]),
        ],
    }


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


@click.command(name="iam-policy")
@click.option("--routes-dir", "--routes", "routes_dir", default=Path("routes"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Route files the policy is scoped to (not read with --import).")  # fmt: skip
@click.option("--account-id", default=None,
              help="AWS account id [default: the account of the edge roles' ARNs].")  # fmt: skip
@click.option("--region", default=lambda: os.environ.get("RECONCILER_REGION", "us-east-1"),
              show_default="RECONCILER_REGION or us-east-1",
              help="Region of the DynamoDB tables (Lambda@Edge is always us-east-1).")  # fmt: skip
@click.option("--import", "for_import", is_flag=True,
              help="The read-only policy of `reconciler import` instead of the daemon's.")
@click.option("--store-arn", multiple=True, metavar="NAME=ARN",
              help="A KeyValueStore's ARN (its id is CloudFront's): scopes the store "
              "statements to it instead of every store of the account. Repeatable.")  # fmt: skip
@click.option("--distribution-id", multiple=True, metavar="NAME=ID",
              help="The id of a Distribution document selected by alias or comment: scopes "
              "Get/UpdateDistribution to it. Repeatable.")  # fmt: skip
@click.option("--lease-table", default=None, metavar="TABLE",
              help="With leader election (RECONCILER_LEADER_ELECTION): the lease table.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the policy here instead of standard output.")
def command(routes_dir: Path, account_id: str | None, region: str, for_import: bool,
            store_arn: tuple[str, ...], distribution_id: tuple[str, ...],
            lease_table: str | None, out: Path | None) -> None:  # fmt: skip
    """Print the least-privilege IAM policy for the daemon and these route files.

    Scoped to what the files declare: the tables (in --region), the CloudFront Functions,
    the Lambda@Edge functions and their versions (old versions are deleted, never whole
    functions), the edge roles for iam:GetRole and iam:PassRole (any path: the ARN is taken
    from the file), the distribution by id. KeyValueStores and distributions selected by
    alias or comment get account-wide resources unless --store-arn / --distribution-id say
    which. Exit status 1 when the route files are invalid.
    """
    if for_import:
        policy = import_policy(account_id or "123456789012", region)
    else:
        try:
            routes = load_route_set(routes_dir)
        except RouteSetInvalid as invalid:
            for error in invalid.errors:
                click.echo(error.render(), err=True)
            raise SystemExit(1) from None
        accounts = {f.spec.role.split(":")[4] for f in routes.lambda_functions.values()}
        if account_id is None:
            if len(accounts) != 1:
                raise click.UsageError("--account-id is required (no single account in the roles)")
            (account_id,) = accounts
        policy = daemon_policy(
            routes_dir, account_id, region,
            store_arns=_pairs(store_arn, "--store-arn"),
            distribution_ids=_pairs(distribution_id, "--distribution-id"),
            lease_table=lease_table,
        )  # fmt: skip
    text = render(policy)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
