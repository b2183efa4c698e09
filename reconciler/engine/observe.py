"""Adapters -> one Observation: every AWS read of a pass happens here, before planning.

The planner then decides without another call (Terraform's refresh-then-plan), so a plan
is a function of two values and a saved plan can be checked against a fresh observation.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from reconciler.aws.account import AccountAdapter
from reconciler.aws.clients import AwsTarget
from reconciler.aws.cloudfront_functions import CloudFrontFunctionsAdapter
from reconciler.aws.distributions import BeforeWrite, DistributionAdapter, WiringError
from reconciler.aws.dynamodb import DynamoDbAdapter, key_of, stream_arn
from reconciler.aws.kvs import KvsAdapter
from reconciler.aws.lambda_edge import EDGE_REGION, LambdaEdgeAdapter
from reconciler.aws.streams import StreamLost, StreamReader
from reconciler.core.attribute_values import Item, ValueInterner, canonical_item
from reconciler.core.functions import ObservedFunctions
from reconciler.core.model import ResourceKind
from reconciler.core.policies import PolicyCatalog
from reconciler.core.state import DesiredTable, ItemKey, ObservedData, ObservedTable, item_key
from reconciler.core.wiring import ObservedDistribution
from reconciler.engine.cache import CachedTable, ObservationCache, Scope, refreshed_table
from reconciler.engine.desired import DesiredState, container_key
from reconciler.engine.observation import Observation

log = structlog.get_logger("reconciler.observe")
T = TypeVar("T")

# A table followed by its stream is still scanned this often (the stream's 24 h retention
# and the empty-page rule make a periodic full read the backstop).
DEFAULT_FULL_SCAN_SECONDS = 6 * 3600.0


@dataclass
class Adapters:
    """One adapter per kind, built once per engine (clients and their caches live here)."""

    kvs: KvsAdapter
    tables: DynamoDbAdapter
    cloudfront_functions: CloudFrontFunctionsAdapter
    lambdas: LambdaEdgeAdapter
    distributions: DistributionAdapter
    account: AccountAdapter
    streams: StreamReader

    @classmethod
    def for_target(cls, target: AwsTarget, *, before_write: BeforeWrite | None = None) -> Adapters:
        return cls(
            kvs=KvsAdapter(target),
            tables=DynamoDbAdapter(target),
            cloudfront_functions=CloudFrontFunctionsAdapter(target),
            lambdas=LambdaEdgeAdapter(target, region=EDGE_REGION),
            distributions=DistributionAdapter(target, before_write=before_write),
            account=AccountAdapter(target),
            streams=StreamReader(target),
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
                self.streams,
            )
            for client in adapter.clients
        ]


def observe(
    desired: DesiredState,
    adapters: Adapters,
    cache: ObservationCache | None = None,
    scope: Scope = Scope.FULL,
    *,
    full_scan_interval: float = DEFAULT_FULL_SCAN_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Observation:
    """One Observation for `desired`. Without a cache every container is read in full;
    with one, see reconciler/engine/cache.py for what is read again and what is reused."""
    cache = cache if cache is not None else ObservationCache()
    digests = desired.container_digests
    targeted = scope is Scope.CHANGED

    def reuse(key: str) -> bool:
        return targeted and cache.fresh(key, digests.get(key))

    stores = {}
    for store in desired.data.stores:
        key = container_key(ResourceKind.KEY_VALUE_STORE, store.name)
        cached_store = cache.stores.get(store.name)
        if cached_store is not None and reuse(key):
            stores[store.name] = cached_store
        else:  # one DescribeKeyValueStore; ListKeys only when the ETag moved
            observed = adapters.kvs.observe(store.name, declared=store.entries)
            stores[store.name] = cache.stores[store.name] = observed
    tables = {}
    for table in desired.data.tables:
        cached_table = cache.tables.get(table.name)
        if cached_table is not None and reuse(container_key(ResourceKind.TABLE, table.name)):
            tables[table.name] = cached_table.observed  # declaration unchanged: no read
        else:
            tables[table.name] = _table(table, adapters, cache, targeted, clock, full_scan_interval)

    distributions: dict[str, ObservedDistribution] = {}
    errors: dict[str, str] = {}
    for ref in desired.distributions:
        key = container_key(ResourceKind.DISTRIBUTION_BEHAVIOR, ref.name)
        cached_dist = cache.distributions.get(ref.name)
        if cached_dist is not None and reuse(key):
            distributions[ref.name] = cached_dist
            continue
        try:
            distributions[ref.name] = cache.distributions[ref.name] = adapters.distributions.read(
                ref.name, adapters.distributions.find(ref.selector)
            )
        except WiringError as exc:
            errors[ref.name] = str(exc)
    cloudfront = {
        cf.name: _cached_or_read(
            cache.cloudfront,
            cf.name,
            reuse(container_key(ResourceKind.CLOUDFRONT_FUNCTION, cf.name)),
            functools.partial(adapters.cloudfront_functions.observe, cf.name),
        )
        for cf in desired.functions.cloudfront
    }
    lambdas = {
        lam.name: _cached_or_read(
            cache.lambdas,
            lam.name,
            reuse(container_key(ResourceKind.LAMBDA_FUNCTION, lam.name)),
            functools.partial(adapters.lambdas.observe, lam.name, ours=lam.zip_sha256),
        )
        for lam in desired.functions.lambdas
    }
    associated = frozenset(
        association.arn
        for dist in distributions.values()
        for behavior in dist.behaviors.values()
        for association in behavior.lambda_associations.values()
    )
    if desired.functions.lambdas:
        # Versions wired anywhere in the account, not only in declared distributions.
        if cache.associated is None or not targeted:
            cache.associated = adapters.distributions.lambda_versions_in_use()
        associated |= cache.associated
    functions = ObservedFunctions(cloudfront, lambdas, associated)

    behaviors = [b for ref in desired.distributions for b in ref.behaviors]
    # Policy lists change rarely (and never because of a route file): once per resync.
    if any(b.cache_policy for b in behaviors) and (cache.cache_policies is None or not targeted):
        cache.cache_policies = adapters.distributions.cache_policies()
    if any(b.origin_request_policy for b in behaviors) and (
        cache.origin_request_policies is None or not targeted
    ):
        cache.origin_request_policies = adapters.distributions.origin_request_policies()
    # ARNs of functions that do not exist yet are predicted from the account id.
    missing = any(not f.exists for f in cloudfront.values()) or any(
        not f.exists for f in lambdas.values()
    )
    if missing and not cache.account_id:
        cache.account_id = adapters.account.account_id()
    cache.digests.update(digests)
    return Observation(
        data=ObservedData(stores=stores, tables=tables),
        functions=functions,
        distributions=distributions,
        distribution_errors=errors,
        cache_policies=cache.cache_policies or PolicyCatalog("cache policy"),
        origin_request_policies=cache.origin_request_policies
        or PolicyCatalog("origin request policy"),
        account_id=cache.account_id,
    )


def _cached_or_read(cached: dict[str, T], name: str, reuse: bool, read: Callable[[], T]) -> T:
    """The cached observation of `name` when it may be reused, else a fresh read (cached)."""
    found = cached.get(name)
    if found is None or not reuse:
        found = cached[name] = read()
    return found


def _table(
    table: DesiredTable,
    adapters: Adapters,
    cache: ObservationCache,
    targeted: bool,
    clock: Callable[[], float],
    full_scan_interval: float,
) -> ObservedTable:
    cached = cache.tables.get(table.name)
    if targeted and cached is not None:  # a changed table: read just what the change touches
        return _touched_items(table, adapters, cached)
    described = adapters.tables.describe(table.name)
    if described is None:
        cache.tables.pop(table.name, None)
        return ObservedTable(name=table.name, exists=False)
    arn = stream_arn(described)
    now = clock()
    if (
        cached is not None
        and arn is not None
        and cached.cursor is not None
        and cached.cursor.stream_arn == arn
        and now - cached.scanned_at < full_scan_interval
    ):
        try:
            return _caught_up(table, adapters, cached)
        except StreamLost as lost:
            log.warning("table.stream_lost", table=table.name, reason=str(lost))
    # A full scan. The stream's place is taken first: whatever changes while the scan runs
    # is read again from the stream next time.
    cursor = None
    if arn is not None:
        try:
            cursor = adapters.streams.start(arn)
        except StreamLost as lost:
            log.warning("table.stream_lost", table=table.name, reason=str(lost))
    # Items equal to their declaration come back as the declared objects: the loader hands
    # out the same object for a line that did not change, so from then on "unchanged" is
    # an identity check (a targeted pass at 100k items: milliseconds), and the cache holds
    # one copy of each unchanged item.
    observed = adapters.tables.observe(table.name, described, declared=table.items)
    cache.tables[table.name] = CachedTable(observed, cursor, now)
    return observed


def _touched_items(table: DesiredTable, adapters: Adapters, cached: CachedTable) -> ObservedTable:
    """The items a change of the route files touches, read again (strongly consistent)."""
    schema = cached.observed.key_schema or table.key_schema
    seen = cached.observed.items
    # Identity first: an item the loader did not touch is the object the cache holds.
    keys = [k for k, item in table.items.items() if (o := seen.get(k)) is not item and o != item]
    if table.prune and len(seen) != len(table.items) - _missing(keys, seen):
        keys += [k for k in seen if k not in table.items]
    if not keys:
        return cached.observed
    wire = [key_of(table.items[k] if k in table.items else seen[k], schema) for k in keys]
    found = adapters.tables.get_items(table.name, schema, wire, ValueInterner())
    return refreshed_table(cached, schema, keys, found)


def _missing(keys: list[ItemKey], seen: Mapping[ItemKey, Item]) -> int:
    return sum(1 for k in keys if k not in seen)


def _caught_up(table: DesiredTable, adapters: Adapters, cached: CachedTable) -> ObservedTable:
    """The cached table after the stream's news: only the keys it names are read again."""
    assert cached.cursor is not None
    changes = adapters.streams.read(cached.cursor)
    cached.cursor = changes.cursor
    schema = cached.observed.key_schema or table.key_schema
    keys: dict[ItemKey, Item] = {}
    for raw in changes.keys:
        wire = canonical_item(raw, ValueInterner())
        keys[item_key(wire, schema)] = wire
    if not keys:
        return cached.observed
    found = adapters.tables.get_items(table.name, schema, list(keys.values()), ValueInterner())
    return refreshed_table(cached, schema, list(keys), found)
