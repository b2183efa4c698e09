"""The Lambda patches, once per process, after checking moto still has what they wrap."""

from __future__ import annotations

import inspect
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse

from reconciler.sandbox.awslambda import code_location, states, version_numbers
from reconciler.sandbox.extensions import guarded_install

RESPONSE_METHODS = (
    "create_function",
    "update_function_code",
    "update_function_configuration",
    "publish_version",
    "get_function",
    "get_function_configuration",
)
FUNCTION_ATTRIBUTES = ("function_name", "function_arn", "region", "account_id", "code_bytes")


def check_extension_points() -> list[str]:
    problems = [
        f"LambdaResponse.{name} is gone or takes arguments"
        for name in RESPONSE_METHODS
        if tuple(inspect.signature(getattr(LambdaResponse, name, lambda: None)).parameters)
        != ("self",)
    ]
    source = inspect.getsource(LambdaFunction.__init__)
    problems += [
        f"LambdaFunction no longer sets {a!r}"
        for a in FUNCTION_ATTRIBUTES
        if f"self.{a}" not in source and a != "code_bytes"
    ]
    if '"Location"' not in inspect.getsource(LambdaFunction.get_code):
        problems.append("LambdaFunction.get_code no longer answers Code.Location")
    return problems


def _patch() -> None:
    response: Any = LambdaResponse
    response.create_function = states.after_create(response.create_function)
    response.update_function_code = states.guarded_update(response.update_function_code)
    response.update_function_configuration = states.guarded_update(
        response.update_function_configuration
    )
    response.publish_version = states.guarded_publish(response.publish_version)
    response.get_function = code_location.with_location(states.reading(response.get_function, 1))
    response.get_function_configuration = states.reading(response.get_function_configuration, 2)
    version_numbers.install()


install = guarded_install("Lambda", "reconciler.sandbox.awslambda", check_extension_points, _patch)
