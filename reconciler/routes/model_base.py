"""Conventions shared by every route document model.

Fields are snake_case in Python and camelCase in YAML (the Kubernetes convention operators
already read). Unknown fields are errors, models are immutable, and booleans and integers
are strict: a quoted "false" or "128" is a typo worth reporting, not coercing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StringConstraints
from pydantic.alias_generators import to_camel

API_VERSION: Literal["edge.routing/v1"] = "edge.routing/v1"


class RouteModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        str_strip_whitespace=False,
    )


# CloudFront function, KVS and Lambda names share this shape.
AWS_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
AwsName = Annotated[str, StringConstraints(pattern=AWS_NAME_PATTERN)]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
LocalName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")]
RepoPath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Comment = Annotated[str, StringConstraints(max_length=128)]
Labels = dict[str, str]

__all__ = [
    "API_VERSION",
    "AwsName",
    "Comment",
    "Labels",
    "LocalName",
    "RepoPath",
    "RouteModel",
    "StrictBool",
    "StrictInt",
    "TableName",
]
