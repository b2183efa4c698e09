"""KeyValueStore adapter: control plane (exists/create) and data plane (list/write by ETag)."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from reconciler.aws.clients import KVS_SERVICE, AwsTarget, make_client
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, error_code
from reconciler.core.schedule import KvsWrite
from reconciler.core.state import ObservedStore


class KvsAdapter:
    def __init__(self, target: AwsTarget) -> None:
        self._cf = make_client("cloudfront", target)
        self._kvs = make_client(KVS_SERVICE, target)
        # arn -> (ETag, entries) as last listed or written by this adapter. Every write to a
        # store changes its ETag, so an unchanged ETag means unchanged entries: a pass that
        # finds the ETag it knows skips ListKeys (a 5 MB store is ~450 sequential pages).
        self._known: dict[str, tuple[str, dict[str, str]]] = {}

    def arn(self, name: str) -> str | None:
        try:
            resp = self._cf.describe_key_value_store(Name=name)
        except ClientError as exc:
            if error_code(exc) in ("EntityNotFound", "NoSuchResource", "ResourceNotFoundException"):
                return None
            raise
        return str(resp["KeyValueStore"]["ARN"])

    def observe(self, name: str) -> ObservedStore:
        arn = self.arn(name)
        if arn is None:
            return ObservedStore(name=name, exists=False)
        # The ETag is read before the keys: a write landing in between makes our next
        # UpdateKeys fail with a conflict instead of silently overwriting it.
        etag = str(self._kvs.describe_key_value_store(KvsARN=arn)["ETag"])
        known = self._known.get(arn)
        if known is not None and known[0] == etag:
            return ObservedStore(name=name, exists=True, arn=arn, etag=etag, entries=dict(known[1]))
        entries: dict[str, str] = {}
        paginator = self._kvs.get_paginator("list_keys")
        for page in paginator.paginate(KvsARN=arn, PaginationConfig={"PageSize": 50}):
            for item in page.get("Items", []):
                entries[item["Key"]] = item["Value"]
        # Listed after the ETag was read: a write in between only makes the next pass list again.
        self._known[arn] = (etag, dict(entries))
        return ObservedStore(name=name, exists=True, arn=arn, etag=etag, entries=entries)

    def create(self, name: str, comment: str, timeout: float = 120.0) -> str:
        resp = self._cf.create_key_value_store(Name=name, Comment=comment or f"managed by reconciler: {name}")
        arn = str(resp["KeyValueStore"]["ARN"])
        deadline = time.monotonic() + timeout
        status = resp["KeyValueStore"].get("Status", "READY")
        # A new store is PROVISIONING for a short while; the data plane rejects writes until READY.
        while status != "READY":
            if status == "PROVISIONING_FAILED" or time.monotonic() > deadline:
                raise ReconcileError(f"store {name} did not become READY ({status})", ErrorClass.RETRYABLE)
            time.sleep(1)
            status = self._cf.describe_key_value_store(Name=name)["KeyValueStore"].get("Status", "READY")
        return arn

    def etag(self, arn: str) -> str:
        return str(self._kvs.describe_key_value_store(KvsARN=arn)["ETag"])

    def write(self, arn: str, batch: KvsWrite, etag: str) -> str:
        """One UpdateKeys call; returns the store's new ETag."""
        kwargs: dict[str, Any] = {"KvsARN": arn, "IfMatch": etag}
        if batch.puts:
            kwargs["Puts"] = [{"Key": k, "Value": v} for k, v in batch.puts]
        if batch.deletes:
            kwargs["Deletes"] = [{"Key": k} for k in batch.deletes]
        try:
            resp = self._kvs.update_keys(**kwargs)
        except ClientError as exc:
            self._known.pop(arn, None)
            if error_code(exc) == "ConflictException":
                raise ConflictError(
                    f"store {batch.store} changed since it was read (stale ETag)", "ConflictException"
                ) from exc
            raise
        new_etag = str(resp["ETag"])
        known = self._known.pop(arn, None)
        if known is not None and known[0] == etag:  # IfMatch held: exactly this batch landed
            entries = known[1]
            entries.update(batch.puts)
            for key in batch.deletes:
                entries.pop(key, None)
            self._known[arn] = (new_etag, entries)
        return new_etag
