"""Adapters -> one Observation: every AWS read of a pass happens here, before planning.

The planner then decides without another call (Terraform's refresh-then-plan), so a plan
is a function of two values and a saved plan can be checked against a fresh observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.aws.account import AccountAdapter
from reconciler.aws.clients import AwsTarget
from reconciler.aws.cloudfront_functions import CloudFrontFunctionsAdapter
from reconciler.aws.distributions import BeforeWrite, DistributionAdapter, WiringError
from reconciler.aws.dynamodb import DynamoDbAdapter
from reconciler.aws.kvs import KvsAdapter
from reconciler.aws.lambda_edge import EDGE_REGION, LambdaEdgeAdapter
from reconciler.core.functions import ObservedFunctions
from reconciler.core.policies import PolicyCatalog
from reconciler.core.state import ObservedData
from reconciler.core.wiring import ObservedDistribution
from reconciler.engine.desired import DesiredState
from reconciler.engine.observation import Observation


@dataclass
class Adapters:
    """One adapter per kind, built once per engine (clients and their caches live here)."""

    kvs: KvsAdapter
    tables: DynamoDbAdapter
    cloudfront_functions: CloudFrontFunctionsAdapter
    lambdas: LambdaEdgeAdapter
    distributions: DistributionAdapter
    account: AccountAdapter

    @classmethod
    def for_target(cls, target: AwsTarget, *, before_write: BeforeWrite | None = None) -> Adapters:
        return cls(
            kvs=KvsAdapter(target),
            tables=DynamoDbAdapter(target),
            cloudfront_functions=CloudFrontFunctionsAdapter(target),
            lambdas=LambdaEdgeAdapter(target, region=EDGE_REGION),
            distributions=DistributionAdapter(target, before_write=before_write),
            account=AccountAdapter(target),
        )

    def clients(self) -> list[Any]:
        """Every boto3 client (tests and benchmarks hook their events to count calls)."""
        return [
            client
            for adapter in (
                self.kvs,
                self.tables,
                self.cloudfront_functions,
                self.lambdas,
                self.distributions,
                self.account,
            )
            for client in adapter.clients
        ]


def observe(desired: DesiredState, adapters: Adapters) -> Observation:
    stores = {s.name: adapters.kvs.observe(s.name) for s in desired.data.stores}
    tables = {t.name: adapters.tables.observe(t.name) for t in desired.data.tables}

    distributions: dict[str, ObservedDistribution] = {}
    errors: dict[str, str] = {}
    for ref in desired.distributions:
        try:
            distributions[ref.name] = adapters.distributions.read(
                ref.name, adapters.distributions.find(ref.selector)
            )
        except WiringError as exc:
            errors[ref.name] = str(exc)
    associated = frozenset(
        association.arn
        for dist in distributions.values()
        for behavior in dist.behaviors.values()
        for association in behavior.lambda_associations.values()
    )
    if desired.functions.lambdas:
        # Versions wired anywhere in the account, not only in declared distributions.
        associated |= adapters.distributions.lambda_versions_in_use()
    functions = ObservedFunctions(
        cloudfront={
            f.name: adapters.cloudfront_functions.observe(f.name)
            for f in desired.functions.cloudfront
        },
        lambdas={f.name: adapters.lambdas.observe(f.name) for f in desired.functions.lambdas},
        associated_version_arns=associated,
    )
    behaviors = [b for ref in desired.distributions for b in ref.behaviors]
    cache = (
        adapters.distributions.cache_policies()
        if any(b.cache_policy for b in behaviors)
        else PolicyCatalog("cache policy")
    )
    origin_request = (
        adapters.distributions.origin_request_policies()
        if any(b.origin_request_policy for b in behaviors)
        else PolicyCatalog("origin request policy")
    )
    # ARNs of functions that do not exist yet are predicted from the account id.
    missing = any(not f.exists for f in functions.cloudfront.values()) or any(
        not f.exists for f in functions.lambdas.values()
    )
    return Observation(
        data=ObservedData(stores=stores, tables=tables),
        functions=functions,
        distributions=distributions,
        distribution_errors=errors,
        cache_policies=cache,
        origin_request_policies=origin_request,
        account_id=adapters.account.account_id() if missing else "",
    )
