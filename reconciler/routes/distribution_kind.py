"""The Distribution document: which behaviours of which distribution run which edge code."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from reconciler.routes.model_base import (
    API_VERSION,
    AWS_NAME_PATTERN,
    AwsName,
    Labels,
    LocalName,
    RouteModel,
    StrictBool,
)

# Managed policies are referred to by name (AWS lists them as "Managed-<name>");
# custom policies by id, so that a typo in a name is caught here rather than at apply.
MANAGED_CACHE_POLICIES = (
    "Amplify",
    "CachingDisabled",
    "CachingOptimized",
    "CachingOptimizedForUncompressedObjects",
    "Elemental-MediaPackage",
    "UseOriginCacheControlHeaders",
    "UseOriginCacheControlHeaders-QueryStrings",
)
MANAGED_ORIGIN_REQUEST_POLICIES = (
    "AllViewer",
    "AllViewerAndCloudFrontHeaders-2022-06",
    "AllViewerExceptHostHeader",
    "CORS-CustomOrigin",
    "CORS-S3Origin",
    "Elemental-MediaTailor-PersonalizedManifests",
    "HostHeaderOnly",
    "UserAgentRefererHeaders",
)
_POLICY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _policy_ref(managed: tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value.removeprefix("Managed-") in managed or _POLICY_ID.match(value):
            return value
        close = difflib.get_close_matches(value, managed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (custom policies: use the id)"
        raise PydanticCustomError(
            "policy-unknown",
            "'{value}' is neither a managed {what} nor a policy id{hint}",
            {"value": value, "what": what, "hint": hint},
        )

    return AfterValidator(check)


CachePolicyRef = Annotated[str, _policy_ref(MANAGED_CACHE_POLICIES, "cache policy")]
OriginRequestPolicyRef = Annotated[
    str, _policy_ref(MANAGED_ORIGIN_REQUEST_POLICIES, "origin request policy")
]


def _unversioned(value: str) -> str:
    if value.startswith("arn:") or ":" in value or value == "$LATEST":
        raise PydanticCustomError(
            "lambda-ref-versioned",
            "name the LambdaEdgeFunction document ('{value}' is an ARN or version); "
            "the reconciler publishes and associates numbered versions itself",
            {"value": value},
        )
    if not re.match(AWS_NAME_PATTERN, value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": AWS_NAME_PATTERN},
        )
    return value


LambdaRef = Annotated[
    str,
    AfterValidator(_unversioned),
    WithJsonSchema({"type": "string", "pattern": AWS_NAME_PATTERN}),
]


class EdgeAssociation(RouteModel):
    """`{function: NAME}` (CloudFront Function) or `{lambda: NAME, includeBody: ...}`."""

    function: AwsName | None = None
    lambda_: LambdaRef | None = Field(default=None, alias="lambda")
    include_body: StrictBool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> EdgeAssociation:
        if (self.function is None) == (self.lambda_ is None):
            raise PydanticCustomError(
                "association-invalid", "set exactly one of 'function' or 'lambda'"
            )
        if self.function is not None and self.include_body:
            raise PydanticCustomError(
                "association-invalid", "includeBody applies to Lambda@Edge associations only"
            )
        return self


PathPattern = Annotated[str, Field(pattern=r"^(default|[A-Za-z0-9_\-.*$/~\"'@:+&]{1,255})$")]


class Behavior(RouteModel):
    """One cache behaviour, by path pattern (`default` for the default behaviour).

    Only what is named here is owned: associations at events left out are removed, the
    rest of the behaviour (origins, TTLs, ...) is left alone.
    """

    path: PathPattern
    viewer_request: EdgeAssociation | None = None
    viewer_response: EdgeAssociation | None = None
    origin_request: EdgeAssociation | None = None
    origin_response: EdgeAssociation | None = None
    cache_policy: CachePolicyRef | None = None
    origin_request_policy: OriginRequestPolicyRef | None = None

    def associations(self) -> dict[str, EdgeAssociation]:
        """Event name (camelCase, as written) -> association, for the events set."""
        events = {
            "viewerRequest": self.viewer_request,
            "viewerResponse": self.viewer_response,
            "originRequest": self.origin_request,
            "originResponse": self.origin_response,
        }
        return {event: assoc for event, assoc in events.items() if assoc is not None}


class DistributionSelector(RouteModel):
    """Finds the distribution, so one route set serves sandbox, staging and production."""

    id: Annotated[str, Field(pattern=r"^[A-Z0-9]{8,32}$")] | None = None
    alias: Annotated[str, Field(pattern=r"^(\*\.)?[A-Za-z0-9.-]{1,253}$")] | None = None
    comment: Annotated[str, Field(min_length=1, max_length=128)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DistributionSelector:
        if sum(v is not None for v in (self.id, self.alias, self.comment)) != 1:
            raise PydanticCustomError(
                "selector-invalid", "set exactly one of 'id', 'alias' or 'comment'"
            )
        return self


class DistributionMetadata(RouteModel):
    name: LocalName
    labels: Labels = Field(default_factory=dict)


class DistributionSpec(RouteModel):
    selector: DistributionSelector
    behaviors: Annotated[list[Behavior], Field(min_length=1)]


class Distribution(RouteModel):
    api_version: Literal["edge.routing/v1"] = API_VERSION
    kind: Literal["Distribution"] = "Distribution"
    metadata: DistributionMetadata
    spec: DistributionSpec


# Route-file event names -> CloudFront's EventType values.
EVENT_TYPES = {
    "viewerRequest": "viewer-request",
    "viewerResponse": "viewer-response",
    "originRequest": "origin-request",
    "originResponse": "origin-response",
}
VIEWER_EVENTS = ("viewerRequest", "viewerResponse")
REQUEST_EVENTS = ("viewerRequest", "originRequest")
EVENTS = Literal["viewerRequest", "viewerResponse", "originRequest", "originResponse"]
