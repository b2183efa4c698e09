"""The seed: what the blog's console steps create by hand, created once."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from reconciler.sandbox import seed


def test_seed_creates_the_edge_role(aws: Any) -> None:
    result = seed.seed(aws.target)
    iam = aws.client("iam")
    role = iam.get_role(RoleName="tenant-router-edge")["Role"]
    assert role["Arn"] == result.role_arn
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    principals = trust["Statement"][0]["Principal"]["Service"]
    assert set(principals) == {"lambda.amazonaws.com", "edgelambda.amazonaws.com"}
    (attached,) = iam.list_attached_role_policies(RoleName="tenant-router-edge")["AttachedPolicies"]
    version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)[
        "PolicyVersion"
    ]
    actions = json.dumps(document["Document"])
    assert "dynamodb:GetItem" in actions and "dynamodb:PutItem" not in actions


def test_seed_creates_the_console_distribution(aws: Any) -> None:
    result = seed.seed(aws.target)
    config = aws.client("cloudfront").get_distribution_config(Id=result.distribution_id)[
        "DistributionConfig"
    ]
    assert config["Comment"] == "edge-routing-example"
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert origins["basic-api"]["DomainName"] == "basic-api.example.com"
    assert origins["basic-api"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert {o["DomainName"] for o in origins.values()} == {
        "basic-api.example.com",
        "standard-api.example.com",
        "premium-api.example.com",
    }
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "basic-api"
    (tenant,) = config["CacheBehaviors"]["Items"]
    assert (tenant["PathPattern"], tenant["TargetOriginId"]) == ("/tenant/*", "basic-api")


def test_seed_is_idempotent_and_leaves_the_rest_to_the_reconciler(aws: Any) -> None:
    first = seed.seed(aws.target)
    assert first.created
    aws.server.hooks.reset()
    second = seed.seed(aws.target)
    assert second.created == ()
    assert (second.distribution_id, second.role_arn) == (first.distribution_id, first.role_arn)
    writes = {
        op
        for ops in aws.server.hooks.calls().values()
        for op in ops
        if not op.startswith(("Get", "List"))
    }
    assert writes == set()
    cf = aws.client("cloudfront")
    assert len(cf.list_distributions()["DistributionList"]["Items"]) == 1
    assert cf.list_key_value_stores()["KeyValueStoreList"].get("Items", []) == []
    assert cf.list_functions()["FunctionList"].get("Items", []) == []
    assert aws.client("dynamodb").list_tables()["TableNames"] == []
    assert aws.client("lambda").list_functions()["Functions"] == []
