"""The KeyValueStore control plane (the `cloudfront` client), as AWS answers it.

moto 5.2.5 creates a store READY at once and ignores If-Match on Update/Delete. AWS:
- a new store is PROVISIONING, then READY (the Terraform AWS provider waits for READY
  after CreateKeyValueStore: internal/service/cloudfront/key_value_store.go,
  keyValueStoreStatusProvisioning / keyValueStoreStatusReady in consts.go).
  CreateKeyValueStore's answer says PROVISIONING; the `kvs_provisioning_reads` switch says
  how many later Describe/List reads still do (default 0: the next read sees READY).
- UpdateKeyValueStore and DeleteKeyValueStore take If-Match (required in botocore's
  model): missing -> InvalidIfMatchVersion 400, stale -> PreconditionFailed 412.
- DeleteKeyValueStore of a store a function is associated with (either stage) ->
  CannotDeleteEntityWhileInUse 409 (an error the model declares for that operation).

Gap from AWS: the data plane answers during PROVISIONING too (what AWS does then is not
documented).
"""

from __future__ import annotations

from typing import Any

from moto.cloudfront.models import CloudFrontBackend, KeyValueStore
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult

from reconciler.sandbox.cloudfront import functions, state
from reconciler.sandbox.cloudfront.errors import (
    CannotDeleteEntityWhileInUse,
    InvalidIfMatchVersion,
    PreconditionFailed,
)
from reconciler.sandbox.kvs import store as data_plane
from reconciler.sandbox.kvs.store import PROVISIONING


def _read(store: KeyValueStore) -> dict[str, Any]:
    """The store as one control-plane read reports it (and counted as a read)."""
    described = {**store.key_value_store, "Status": data_plane.status(store)}
    data_plane.count_read(store)
    return described


def _check_if_match(store: KeyValueStore, if_match: str | None) -> None:
    if not if_match:
        raise InvalidIfMatchVersion()
    if if_match != store.etag:
        raise PreconditionFailed(
            f"The If-Match version {if_match} is not the current version of {store.name}."
        )


def _in_use(backend: CloudFrontBackend, arn: str) -> bool:
    for function in backend.functions.values():
        live = state.live_stage(function)
        configs = [function.config] + ([live.config] if live is not None else [])
        if any(functions.kvs_arn(config) == arn for config in configs):
            return True
    return False


def create_key_value_store(self: CloudFrontResponse) -> ActionResult:
    store = self.backend.create_key_value_store(
        name=self._get_param("Name"),
        comment=self._get_param("Comment", ""),
        tags=self._get_param("Tags.Items", []) or [],
    )
    described = {**store.key_value_store, "Status": PROVISIONING}
    return ActionResult(
        {
            "KeyValueStore": described,
            "Location": f"https://cloudfront.amazonaws.com/2020-05-31/key-value-store/{store.id}",
            "ETag": store.etag,
        }
    )


def describe_key_value_store(self: CloudFrontResponse) -> ActionResult:
    store = self.backend.describe_key_value_store(name=self._get_param("Name"))
    return ActionResult({"KeyValueStore": _read(store), "ETag": store.etag})


def list_key_value_stores(self: CloudFrontResponse) -> ActionResult:
    max_items = self._get_int_param("MaxItems")
    stores, next_marker = self.backend.list_key_value_stores(
        marker=self._get_param("Marker"), max_items=max_items
    )
    return ActionResult(
        {
            "KeyValueStoreList": {
                "NextMarker": next_marker,
                "MaxItems": max_items or 100,
                "Quantity": len(stores),
                "Items": [_read(store) for store in stores],
            }
        }
    )


def update_key_value_store(self: CloudFrontResponse) -> ActionResult:
    with state.WRITE_LOCK:
        store = self.backend.describe_key_value_store(name=self._get_param("Name"))
        _check_if_match(store, self._get_param("IfMatch"))
        store.update(self._get_param("Comment", ""))
        described = {**store.key_value_store, "Status": data_plane.status(store)}
        return ActionResult({"KeyValueStore": described, "ETag": store.etag})


def delete_key_value_store(self: CloudFrontResponse) -> EmptyResult:
    with state.WRITE_LOCK:
        store = self.backend.describe_key_value_store(name=self._get_param("Name"))
        _check_if_match(store, self._get_param("IfMatch"))
        if _in_use(self.backend, store.arn):
            raise CannotDeleteEntityWhileInUse(
                f"The KeyValueStore {store.name} is associated with a function."
            )
        self.backend.delete_key_value_store(name=store.name)
        return EmptyResult()


RESPONSE_METHODS = (
    create_key_value_store,
    describe_key_value_store,
    list_key_value_stores,
    update_key_value_store,
    delete_key_value_store,
)
