"""install(): the CloudFront emulation patched into moto, once per process, after checking
that every moto internal it builds on is still there (see the package docstring)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from moto.cloudfront import urls as cf_urls
from moto.cloudfront.models import (
    CacheBehaviour,
    CloudFrontBackend,
    CloudFrontFunction,
    DefaultCacheBehaviour,
    Distribution,
    KeyValueStore,
    Origin,
    ViewerCertificate,
)
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import BaseResponse
from moto.moto_api._internal.managed_state_model import ManagedState

from reconciler.sandbox.cloudfront import (
    behaviours,
    distribution_shape,
    distributions,
    key_value_stores,
    responses,
    urls,
)
from reconciler.sandbox.extensions import guarded_install

# (owner, attribute, parameter names) moto must still have for the patches to be right.
SIGNATURES: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (DefaultCacheBehaviour, "__init__", ("self", "config")),
    (CacheBehaviour, "__init__", ("self", "config")),
    (ViewerCertificate, "__init__", ("self", "config")),
    (Origin, "__init__", ("self", "origin")),
    (CloudFrontBackend, "create_distribution_with_tags", ("self", "distribution_config", "tags")),
    (CloudFrontBackend, "update_distribution", ("self", "dist_config", "_id", "if_match")),
    (CloudFrontBackend, "delete_distribution", ("self", "distribution_id", "if_match")),
    (CloudFrontBackend, "get_distribution", ("self", "distribution_id")),
    (
        CloudFrontBackend,
        "create_function",
        ("self", "name", "function_config", "function_code", "tags"),
    ),
    (CloudFrontBackend, "create_key_value_store", ("self", "name", "comment", "tags")),
    (CloudFrontBackend, "list_key_value_stores", ("self",)),
    (Distribution, "advance", ("self",)),
    (CloudFrontResponse, "dispatch", ("args", "kwargs")),
    (CloudFrontResponse, "_get_param", ("self", "param_name", "if_none")),
)
FUNCTION_ATTRIBUTES = (
    "name",
    "arn",
    "config",
    "code",
    "etag",
    "created_time",
    "last_modified_time",
)
STORE_ATTRIBUTES = ("id", "name", "arn", "etag", "key_value_store", "update", "last_modified_time")


def check_extension_points() -> list[str]:
    """What moto no longer offers that this package builds on (empty when all is well)."""
    problems = []
    for owner, name, params in SIGNATURES:
        target = getattr(owner, name, None)
        if target is None:
            problems.append(f"{owner.__name__}.{name} is gone")
            continue
        found = tuple(inspect.signature(inspect.unwrap(target)).parameters)
        if found != params:
            problems.append(f"{owner.__name__}.{name}{found} is not {name}{params}")
    if not isinstance(getattr(cf_urls, "url_paths", None), dict):
        problems.append("moto.cloudfront.urls.url_paths is no longer a dict")
    elif "{0}/2020-05-31/function/(?P<function_name>[^/]+)$" not in cf_urls.url_paths:
        problems.append("moto.cloudfront.urls.url_paths no longer routes /function/{Name}")
    if not issubclass(Distribution, ManagedState) or "_tick" not in _names(ManagedState.__init__):
        problems.append("Distribution no longer counts reads in ManagedState._tick")
    probe = CloudFrontFunction("123456789012", "us-east-1", "probe", {}, b"")
    problems += [
        f"CloudFrontFunction has no {a!r}" for a in FUNCTION_ATTRIBUTES if not hasattr(probe, a)
    ]
    store = KeyValueStore("123456789012", "us-east-1", "probe", "")
    problems += [f"KeyValueStore has no {a!r}" for a in STORE_ATTRIBUTES if not hasattr(store, a)]
    for name in ("functions", "key_value_stores", "distributions"):
        if name not in _names(CloudFrontBackend.__init__):
            problems.append(f"CloudFrontBackend no longer keeps {name!r}")
    # update_function adds the "ETag" header through response_headers, which moto merges
    # into every serialized answer.
    if "response_headers" not in BaseResponse.serialized.__code__.co_names:
        problems.append("BaseResponse.serialized no longer merges self.response_headers")
    return problems


def _names(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(function.__code__.co_names)


def _patch() -> None:
    """moto's CloudFront models, backend, responses and routes."""
    behaviours.install()
    distribution_shape.install()
    distributions.install()
    for route in urls.ROUTES:
        cf_urls.url_paths[route] = CloudFrontResponse.dispatch
    for method in (*responses.RESPONSE_METHODS, *key_value_stores.RESPONSE_METHODS):
        setattr(CloudFrontResponse, method.__name__, method)


install = guarded_install(
    "CloudFront", "reconciler.sandbox.cloudfront", check_extension_points, _patch
)
