"""Documents that declare edge code: CloudFront Functions and Lambda@Edge functions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from reconciler.routes.limits import LAMBDA_EDGE_REGION
from reconciler.routes.model_base import (
    API_VERSION,
    AwsName,
    Comment,
    Labels,
    RepoPath,
    RouteModel,
    StrictInt,
)


def _one_store(value: object) -> object:
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        raise PydanticCustomError(
            "function-one-store",
            "a CloudFront Function can be associated with at most one KeyValueStore",
        )
    return value


StoreRef = Annotated[AwsName, BeforeValidator(_one_store, json_schema_input_type=str)]


class FunctionMetadata(RouteModel):
    name: AwsName
    labels: Labels = Field(default_factory=dict)


class CloudFrontFunctionSpec(RouteModel):
    source: RepoPath
    runtime: Literal["cloudfront-js-2.0"] = "cloudfront-js-2.0"
    key_value_store: StoreRef | None = None
    comment: Comment = ""
    tests: RepoPath | None = None


class CloudFrontFunction(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["CloudFrontFunction"] = "CloudFrontFunction"
    metadata: FunctionMetadata
    spec: CloudFrontFunctionSpec


def _edge_region(value: str) -> str:
    if value != LAMBDA_EDGE_REGION:
        raise PydanticCustomError(
            "lambda-region",
            "Lambda@Edge functions are created in us-east-1 only, not '{region}'",
            {"region": value},
        )
    return value


def _json_numbers(value: Any) -> Any:
    # The config is written into the package as JSON: YAML decimals become JSON numbers.
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
HANDLER_PATTERN = r"^[A-Za-z0-9_./-]+\.[A-Za-z_$][A-Za-z0-9_$]*$"


class LambdaEdgeFunctionSpec(RouteModel):
    source: RepoPath
    runtime: Literal["nodejs18.x", "nodejs20.x", "nodejs22.x"]
    handler: Annotated[str, Field(pattern=HANDLER_PATTERN, max_length=128)] = "index.handler"
    role: Annotated[str, Field(pattern=ROLE_ARN_PATTERN)]
    memory_size: Annotated[StrictInt, Field(ge=128, le=10240)] = 128
    timeout: Annotated[StrictInt, Field(ge=1, le=30)] = 5
    region: Annotated[str, AfterValidator(_edge_region)] = LAMBDA_EDGE_REGION
    description: Annotated[str, Field(max_length=256)] = ""
    # Lambda@Edge has no environment variables: this is written into the package.
    config: Annotated[dict[str, Any], AfterValidator(_json_numbers)] = Field(default_factory=dict)
    keep_versions: Annotated[StrictInt, Field(ge=1, le=100)] = 3
    tests: RepoPath | None = None


class LambdaEdgeFunction(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["LambdaEdgeFunction"] = "LambdaEdgeFunction"
    metadata: FunctionMetadata
    spec: LambdaEdgeFunctionSpec
