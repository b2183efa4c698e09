"""KeyValueStore adapter: control plane (find, create) and data plane (list, write by ETag).

Every data-plane write is one UpdateKeys call under IfMatch; a stale ETag is a
ConflictError for the pass to re-plan, never a silent overwrite.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.aws.clients import KVS_SERVICE, AwsTarget, make_client
from reconciler.aws.errors import AlreadyExistsError, NotFoundError, RetryableError, translated
from reconciler.core.schedule import KvsWrite
from reconciler.core.state import ObservedStore

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudfront_keyvaluestore import CloudFrontKeyValueStoreClient

LIST_PAGE = 50  # ListKeys returns at most 50 keys a page


class KvsAdapter:
    def __init__(self, target: AwsTarget, *, poll_seconds: float = 1.0) -> None:
        self._cf: CloudFrontClient = make_client("cloudfront", target)
        self._kvs: CloudFrontKeyValueStoreClient = make_client(KVS_SERVICE, target)
        self._poll = poll_seconds
        # arn -> (ETag, entries) as last listed or written by this adapter. Every write to a
        # store changes its ETag, so an unchanged ETag means unchanged entries: a pass that
        # finds the ETag it knows skips ListKeys (a 5 MB store is ~450 sequential pages).
        self._known: dict[str, tuple[str, dict[str, str]]] = {}
        # name -> ARN: a store's ARN never changes; a deleted store fails the data-plane
        # read, and the name is looked up again.
        self._arns: dict[str, str] = {}

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._cf, self._kvs)

    def arn(self, name: str) -> str | None:
        try:
            with translated("DescribeKeyValueStore"):
                resp = self._cf.describe_key_value_store(Name=name)
        except NotFoundError:
            return None
        return str(resp["KeyValueStore"]["ARN"])

    def observe(self, name: str, declared: Mapping[str, str] | None = None) -> ObservedStore:
        """One data-plane DescribeKeyValueStore when the store is known and unchanged;
        ListKeys (50 keys a page) only when its ETag moved since this adapter last saw it.
        `declared`: a listed entry equal to its declaration keeps the declared strings (one
        copy of a 5 MB store in memory, not two)."""
        etag = None
        arn = self._arns.get(name)
        if arn is not None:
            try:
                etag = self.etag(arn)
            except NotFoundError:
                self._arns.pop(name, None)
                arn = None
        if arn is None:
            arn = self.arn(name)
            if arn is None:
                return ObservedStore(name=name, exists=False)
            self._arns[name] = arn
        # The ETag is read before the keys: a write landing in between makes our next
        # UpdateKeys fail with a conflict instead of silently overwriting it.
        etag = etag or self.etag(arn)
        known = self._known.get(arn)
        if known is not None and known[0] == etag:
            return ObservedStore(name=name, exists=True, arn=arn, etag=etag, entries=dict(known[1]))
        entries: dict[str, str] = {}
        mine = declared or {}
        keys = {k: k for k in mine}
        with translated("ListKeys", subject=f"store {name}"):
            paginator = self._kvs.get_paginator("list_keys")
            for page in paginator.paginate(KvsARN=arn, PaginationConfig={"PageSize": LIST_PAGE}):
                for item in page.get("Items", []):
                    key, value = item["Key"], item["Value"]
                    same = mine.get(key)
                    if same == value:
                        entries[keys[key]] = same
                    else:
                        entries[key] = value
        self._known[arn] = (etag, dict(entries))
        return ObservedStore(name=name, exists=True, arn=arn, etag=etag, entries=entries)

    def create(self, name: str, comment: str) -> str:
        """CreateKeyValueStore; returns the ARN once the store is READY (AWS creates it
        PROVISIONING, and the data plane refuses writes until it is READY)."""
        with translated("CreateKeyValueStore", {"EntityAlreadyExists": AlreadyExistsError}):
            resp = self._cf.create_key_value_store(
                Name=name, Comment=comment or f"managed by reconciler: {name}"
            )
        return str(resp["KeyValueStore"]["ARN"])

    def wait_ready(self, name: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with translated("DescribeKeyValueStore"):
                status = self._cf.describe_key_value_store(Name=name)["KeyValueStore"].get(
                    "Status", "READY"
                )
            if status == "READY":
                return
            if status == "PROVISIONING_FAILED":
                raise RetryableError(f"store {name}: provisioning failed", "PROVISIONING_FAILED")
            if time.monotonic() > deadline:
                raise RetryableError(f"store {name} still {status} after {timeout:.0f}s", "NotReady")
            time.sleep(self._poll)

    def etag(self, arn: str) -> str:
        with translated("DescribeKeyValueStore"):
            return str(self._kvs.describe_key_value_store(KvsARN=arn)["ETag"])

    def write(self, arn: str, batch: KvsWrite, etag: str) -> str:
        """One UpdateKeys call under IfMatch; returns the store's new ETag."""
        kwargs: dict[str, Any] = {"KvsARN": arn, "IfMatch": etag}
        if batch.puts:
            kwargs["Puts"] = [{"Key": k, "Value": v} for k, v in batch.puts]
        if batch.deletes:
            kwargs["Deletes"] = [{"Key": k} for k in batch.deletes]
        known = self._known.pop(arn, None)
        with translated("UpdateKeys", subject=f"store {batch.store}"):
            resp = self._kvs.update_keys(**kwargs)
        new_etag = str(resp["ETag"])
        if known is not None and known[0] == etag:  # IfMatch held: exactly this batch landed
            entries = known[1]
            entries.update(batch.puts)
            for key in batch.deletes:
                entries.pop(key, None)
            self._known[arn] = (new_etag, entries)
        return new_etag
