"""The CloudFront operations moto lacks or gets wrong, as response methods (the wire).

moto's CloudFrontResponse dispatches by operation name to a method of that name; these
replace or add methods and only translate between moto's request parsing and the
models in functions.py, policies.py and testfunction.py. Every write runs under
state.WRITE_LOCK so that the If-Match check and the write are one step.
"""

from __future__ import annotations

from typing import Any

from moto.cloudfront.models import CloudFrontFunction
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult

from reconciler.sandbox import context
from reconciler.sandbox.cloudfront import functions, policies, state, testfunction
from reconciler.sandbox.cloudfront.errors import FunctionAlreadyExists, InvalidArgument
from reconciler.sandbox.cloudfront.functions import DEVELOPMENT, LIVE
from reconciler.sandbox.kvs import store


def _function(response: CloudFrontResponse) -> CloudFrontFunction:
    return response.backend.describe_function(response._get_param("Name"))


# -- CloudFront Functions --------------------------------------------------------------


def create_function(self: CloudFrontResponse) -> ActionResult:
    name = self._get_param("Name")
    config = self._get_param("FunctionConfig", {})
    code = functions.code_bytes(self._get_param("FunctionCode"))
    with state.WRITE_LOCK:
        if name in self.backend.functions:
            raise FunctionAlreadyExists(name)
        functions.check_code(code)
        functions.check_config(self.backend, config)
        tags = self._get_param("Tags.Items", []) or []
        function = self.backend.create_function(name, config, code, tags)
        return ActionResult(
            {
                "FunctionSummary": functions.summary(self.backend, function, DEVELOPMENT),
                "Location": f"https://cloudfront.amazonaws.com/2020-05-31/function/{name}",
                "ETag": function.etag,
            }
        )


def describe_function(self: CloudFrontResponse) -> ActionResult:
    function, stage = _function(self), functions.check_stage(self._get_param("Stage"))
    summary = functions.summary(self.backend, function, stage)
    return ActionResult(
        {"FunctionSummary": summary, "ETag": functions.stage_view(function, stage).etag}
    )


def get_function(self: CloudFrontResponse) -> ActionResult:
    function = _function(self)
    view = functions.stage_view(function, functions.check_stage(self._get_param("Stage")))
    return ActionResult(
        {"FunctionCode": view.code, "ETag": view.etag, "ContentType": "application/octet-stream"}
    )


def list_functions(self: CloudFrontResponse) -> ActionResult:
    # Stage is a filter: without it, a published function is listed once per stage.
    wanted = self._get_param("Stage")
    summaries = [
        functions.summary(self.backend, function, stage)
        for function in self.backend.functions.values()
        for stage in (DEVELOPMENT, LIVE)
        if wanted in (None, stage) and (stage == DEVELOPMENT or state.has_live_stage(function))
    ]
    max_items = self._get_int_param("MaxItems", 100)
    start = int(self._get_param("Marker") or 0)
    page = summaries[start : start + max_items]
    more = start + max_items < len(summaries)
    return ActionResult(
        {
            "FunctionList": {
                "NextMarker": str(start + max_items) if more else None,
                "MaxItems": max_items,
                "Quantity": len(page),
                "Items": page,
            }
        }
    )


def update_function(self: CloudFrontResponse) -> ActionResult:
    with state.WRITE_LOCK:
        function = _function(self)
        functions.update(
            self.backend,
            function,
            self._get_param("IfMatch"),
            self._get_param("FunctionConfig", {}),
            functions.code_bytes(self._get_param("FunctionCode")),
        )
        # botocore's model reads this ETag from a header named "ETtag" (the serializer
        # writes that one from the model); other clients and people look for "ETag".
        self.response_headers["ETag"] = function.etag
        summary = functions.summary(self.backend, function, DEVELOPMENT)
        return ActionResult({"FunctionSummary": summary, "ETag": function.etag})


def publish_function(self: CloudFrontResponse) -> ActionResult:
    with state.WRITE_LOCK:
        function = _function(self)
        functions.publish(self.backend, function, self._get_param("IfMatch"))
        return ActionResult({"FunctionSummary": functions.summary(self.backend, function, LIVE)})


def delete_function(self: CloudFrontResponse) -> EmptyResult:
    with state.WRITE_LOCK:
        functions.delete(self.backend, _function(self), self._get_param("IfMatch"))
        return EmptyResult()


def test_function(self: CloudFrontResponse) -> ActionResult:
    stage = functions.check_stage(self._get_param("Stage"))
    event = testfunction.decode_event(self._get_param("EventObject"))
    with state.WRITE_LOCK:  # a consistent snapshot; the run itself happens outside the lock
        function = _function(self)
        view = functions.stage_view(function, stage)
        functions.check_if_match(self._get_param("IfMatch"), view.etag, function.name)
        summary = functions.summary(self.backend, function, stage)
        store_arn = functions.kvs_arn(view.config)
        entries = _kvs_entries(store_arn) if store_arn else None
    runner = context.current().runner
    if runner is None:  # only outside a sandbox server (a server always has one)
        raise RuntimeError("TestFunction outside a sandbox server: no function runner")
    run = testfunction.checked(runner(view.code.decode("utf-8"), event, entries))
    return ActionResult({"TestResult": testfunction.test_result(summary, run)})


def _kvs_entries(arn: str) -> dict[str, str]:
    try:
        return store.entries_for_arn(arn)
    except LookupError as e:
        # The store was deleted after the association was made: say so, do not run blind.
        raise InvalidArgument(f"The associated KeyValueStore {arn} does not exist.") from e


# -- managed policies ----------------------------------------------------------------


def _policy_list(key: str, listed: list[dict[str, Any]], kind: str, max_items: int) -> ActionResult:
    summaries = [{"Type": "managed", kind: p} for p in listed]
    return ActionResult(
        {key: {"MaxItems": max_items, "Quantity": len(summaries), "Items": summaries or None}}
    )


def list_cache_policies(self: CloudFrontResponse) -> ActionResult:
    listed = policies.listed(policies.MANAGED_CACHE_POLICIES, self._get_param("Type"))
    max_items = self._get_int_param("MaxItems", 100)
    return _policy_list("CachePolicyList", listed, "CachePolicy", max_items)


def list_origin_request_policies(self: CloudFrontResponse) -> ActionResult:
    listed = policies.listed(policies.MANAGED_ORIGIN_REQUEST_POLICIES, self._get_param("Type"))
    max_items = self._get_int_param("MaxItems", 100)
    return _policy_list("OriginRequestPolicyList", listed, "OriginRequestPolicy", max_items)


def get_cache_policy(self: CloudFrontResponse) -> ActionResult:
    policy = policies.cache_policy(self._get_param("Id"))
    return ActionResult({"CachePolicy": policy, "ETag": policies.MANAGED_POLICY_ETAG})


def get_cache_policy_config(self: CloudFrontResponse) -> ActionResult:
    config = policies.cache_policy(self._get_param("Id"))["CachePolicyConfig"]
    return ActionResult({"CachePolicyConfig": config, "ETag": policies.MANAGED_POLICY_ETAG})


def get_origin_request_policy(self: CloudFrontResponse) -> ActionResult:
    policy = policies.origin_request_policy(self._get_param("Id"))
    return ActionResult({"OriginRequestPolicy": policy, "ETag": policies.MANAGED_POLICY_ETAG})


def get_origin_request_policy_config(self: CloudFrontResponse) -> ActionResult:
    config = policies.origin_request_policy(self._get_param("Id"))["OriginRequestPolicyConfig"]
    return ActionResult({"OriginRequestPolicyConfig": config, "ETag": policies.MANAGED_POLICY_ETAG})


RESPONSE_METHODS = (
    create_function,
    describe_function,
    get_function,
    list_functions,
    update_function,
    publish_function,
    delete_function,
    test_function,
    list_cache_policies,
    list_origin_request_policies,
    get_cache_policy,
    get_cache_policy_config,
    get_origin_request_policy,
    get_origin_request_policy_config,
)
