"""Lambda@Edge adapter: observe, create / update $LATEST, publish a version, clean up old ones.

Lambda@Edge functions live in us-east-1 only and their role must trust both
lambda.amazonaws.com and edgelambda.amazonaws.com; both are checked before any write so
the failure names the fix instead of surfacing later as a replication error.

Versions are what distributions reference. PublishVersion is sent with the CodeSha256
the plan was made for: if someone changed $LATEST in between, AWS refuses instead of
publishing code nobody reviewed. Lambda has no ETags; that precondition plays their role.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import structlog
from botocore.exceptions import ClientError, WaiterError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import ConflictError, ErrorClass, ReconcileError, error_code
from reconciler.core.functions import (
    DesiredLambdaFunction,
    LambdaConfig,
    LambdaVersion,
    ObservedLambdaFunction,
    matching_version,
)
from reconciler.core.model import Action, Change, ResourceKind
from reconciler.functions.package_zip import code_sha256

log = structlog.get_logger("reconciler.functions")

EDGE_REGION = "us-east-1"
REQUIRED_PRINCIPALS = ("lambda.amazonaws.com", "edgelambda.amazonaws.com")
DEFAULT_WAIT_SECONDS = 300
_WAIT_DELAY_SECONDS = 2


class LambdaEdgeRegionError(ReconcileError):
    def __init__(self, region: str) -> None:
        super().__init__(
            f"Lambda@Edge functions must be created in {EDGE_REGION}; this adapter was "
            f"configured for {region!r}. Set the Lambda@Edge region to {EDGE_REGION} "
            "(the rest of the reconciler may use any region).",
            ErrorClass.FATAL,
            "WrongRegion",
        )


class RoleTrustError(ReconcileError):
    def __init__(self, role: str, problem: str) -> None:
        super().__init__(f"Lambda@Edge role {role}: {problem}", ErrorClass.FATAL, "RoleTrust")


@dataclass
class LambdaApplyResult:
    name: str
    version_arn: str | None = None  # what the distribution wiring associates
    writes: list[str] = field(default_factory=list)  # operation names, in order
    deleted_versions: list[int] = field(default_factory=list)
    still_replicated: list[int] = field(default_factory=list)  # retried in a later pass


class LambdaEdgeAdapter:
    def __init__(
        self,
        target: AwsTarget,
        region: str | None = None,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        region = region or target.region
        if region != EDGE_REGION:
            raise LambdaEdgeRegionError(region)
        self._lambda = make_client("lambda", target, region)
        self._iam = make_client("iam", target, region)
        self._wait_attempts = max(1, int(wait_seconds // _WAIT_DELAY_SECONDS))

    @property
    def client(self) -> Any:
        """The Lambda boto3 client (for event hooks such as call counting)."""
        return self._lambda

    # -- observe -----------------------------------------------------------------------

    def observe(self, name: str) -> ObservedLambdaFunction:
        try:
            latest = self._lambda.get_function_configuration(FunctionName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return ObservedLambdaFunction(name)
            raise
        versions = tuple(
            LambdaVersion(
                int(v["Version"]), str(v["FunctionArn"]), str(v["CodeSha256"]), _config(v)
            )
            for page in self._lambda.get_paginator("list_versions_by_function").paginate(
                FunctionName=name
            )
            for v in page.get("Versions", [])
            if v["Version"] != "$LATEST"
        )
        return ObservedLambdaFunction(
            name,
            exists=True,
            latest_sha256=str(latest["CodeSha256"]),
            latest_config=_config(latest),
            last_update_status=latest.get("LastUpdateStatus"),
            versions=tuple(sorted(versions, key=lambda v: v.number)),
            arn=_unqualified(str(latest["FunctionArn"])),
        )

    # -- role --------------------------------------------------------------------------

    def check_role(self, role_arn: str) -> None:
        """The execution role exists and trusts both Lambda and Lambda@Edge replication."""
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self._iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                raise RoleTrustError(role_arn, "the role does not exist") from exc
            raise
        trusted = _trusted_services(role.get("AssumeRolePolicyDocument"))
        missing = [p for p in REQUIRED_PRINCIPALS if p not in trusted]
        if missing:
            raise RoleTrustError(
                role_arn,
                "its trust policy must allow sts:AssumeRole for the service principal(s) "
                f"{', '.join(missing)} (it trusts: {', '.join(sorted(trusted)) or 'none'})",
            )

    # -- writes ------------------------------------------------------------------------

    def create(self, fn: DesiredLambdaFunction, zip_bytes: bytes) -> None:
        # Publish=False: a version is published only after the update settled, by publish().
        try:
            self._lambda.create_function(
                FunctionName=fn.name,
                Runtime=fn.runtime,
                Role=fn.role,
                Handler=fn.handler,
                MemorySize=fn.memory,
                Timeout=fn.timeout,
                Code={"ZipFile": zip_bytes},
                Publish=False,
                Description="managed by reconciler",
            )
        except ClientError as exc:
            # AWS: "Function already exist: <name>" (the same code also means "an update
            # is in progress", which stays retryable). Absent when read: our own create
            # whose answer was lost (a reset, then botocore's retry), or another writer.
            if error_code(exc) == "ResourceConflictException" and "already exist" in str(exc):
                raise ConflictError(
                    f"lambda {fn.name} exists though it was absent when read; re-plan",
                    error_code(exc),
                ) from exc
            raise
        self._wait(fn.name, "function_active")

    def update_code(self, fn: DesiredLambdaFunction, zip_bytes: bytes) -> None:
        self._lambda.update_function_code(FunctionName=fn.name, ZipFile=zip_bytes, Publish=False)
        self._wait(fn.name, "function_updated")

    def update_configuration(self, fn: DesiredLambdaFunction) -> None:
        self._lambda.update_function_configuration(
            FunctionName=fn.name,
            Runtime=fn.runtime,
            Role=fn.role,
            Handler=fn.handler,
            MemorySize=fn.memory,
            Timeout=fn.timeout,
        )
        self._wait(fn.name, "function_updated")

    def publish(self, fn: DesiredLambdaFunction) -> str:
        """PublishVersion of exactly the planned code; returns the version ARN."""
        # A pending update (ours, or one observed InProgress) makes PublishVersion fail.
        self._wait(fn.name, "function_updated")
        try:
            resp = self._lambda.publish_version(
                FunctionName=fn.name, CodeSha256=fn.zip_sha256, Description="managed by reconciler"
            )
        except ClientError as exc:
            # AWS: "CodeSHA256 (...) is different from current CodeSHA256 in $LATEST".
            if (
                error_code(exc) == "InvalidParameterValueException"
                and "codesha256" in str(exc).lower()
            ):
                raise ConflictError(
                    f"lambda {fn.name}: $LATEST no longer has the planned code; re-plan",
                    error_code(exc),
                ) from exc
            raise
        # Checked here too: an API that ignored the precondition must not slip past.
        if resp["CodeSha256"] != fn.zip_sha256:
            raise ConflictError(
                f"lambda {fn.name}: published version {resp['Version']} has code "
                f"{resp['CodeSha256']}, not the planned {fn.zip_sha256}; re-plan"
            )
        return str(resp["FunctionArn"])

    def delete_version(self, name: str, number: int) -> bool:
        """Deletes one version; False when CloudFront still holds replicas of it (retry later)."""
        try:
            self._lambda.delete_function(FunctionName=name, Qualifier=str(number))
        except ClientError as exc:
            if _still_replicated(exc):
                log.warning(
                    "lambda version still replicated at the edge; will retry in a later pass",
                    function=name,
                    version=number,
                )
                return False
            if error_code(exc) != "ResourceNotFoundException":  # gone already: the goal
                raise
        return True

    def _wait(self, name: str, waiter: str) -> None:
        try:
            self._lambda.get_waiter(waiter).wait(
                FunctionName=name,
                WaiterConfig={"Delay": _WAIT_DELAY_SECONDS, "MaxAttempts": self._wait_attempts},
            )
        except WaiterError as exc:
            raise ReconcileError(
                f"lambda {name} did not settle ({waiter}): {exc}",
                ErrorClass.RETRYABLE if "Max attempts" in str(exc) else ErrorClass.FATAL,
                "WaiterError",
            ) from exc

    # -- the lifecycle of one function --------------------------------------------------

    def apply(
        self,
        fn: DesiredLambdaFunction,
        seen: ObservedLambdaFunction,
        changes: Sequence[Change],
        zip_bytes: bytes | None,
    ) -> LambdaApplyResult:
        """Applies this function's planned FUNCTIONS-phase changes; returns the version ARN.

        `changes` may be the whole plan; only this function's are used. zip_bytes must be
        the package whose CodeSha256 is fn.zip_sha256 (needed only for CREATE / code UPDATE).
        """
        mine = _changes_for(fn.name, changes)
        actions = {c.action for c in mine if c.address.key is None}
        result = LambdaApplyResult(fn.name)
        if actions & {Action.CREATE, Action.UPDATE, Action.PUBLISH}:
            self.check_role(fn.role)
        if Action.CREATE in actions:
            self.create(fn, _checked_zip(fn, zip_bytes))
            result.writes.append("CreateFunction")
        elif Action.UPDATE in actions:
            result.writes += self._update(fn, seen, zip_bytes)
        if Action.PUBLISH in actions:
            result.version_arn = self.publish(fn)
            result.writes.append("PublishVersion")
            log.info("lambda version published", function=fn.name, arn=result.version_arn)
        else:
            current = matching_version(fn, seen)
            result.version_arn = current.arn if current else None
        return result

    def _update(
        self, fn: DesiredLambdaFunction, seen: ObservedLambdaFunction, zip_bytes: bytes | None
    ) -> list[str]:
        resend = seen.last_update_status == "Failed"
        writes = []
        if resend or seen.latest_sha256 != fn.zip_sha256:
            self.update_code(fn, _checked_zip(fn, zip_bytes))
            writes.append("UpdateFunctionCode")
        if resend or seen.latest_config != fn.config:
            self.update_configuration(fn)
            writes.append("UpdateFunctionConfiguration")
        return writes

    def cleanup(self, name: str, changes: Sequence[Change]) -> LambdaApplyResult:
        """Applies this function's CLEANUP-phase version DELETEs; replicated ones are deferred."""
        result = LambdaApplyResult(name)
        for change in _changes_for(name, changes):
            if change.action is not Action.DELETE or change.address.key is None:
                continue
            number = int(change.address.key)
            if self.delete_version(name, number):
                result.deleted_versions.append(number)
                result.writes.append("DeleteFunction")
            else:
                result.still_replicated.append(number)
        return result


# -- helpers ---------------------------------------------------------------------------------


def _changes_for(name: str, changes: Sequence[Change]) -> list[Change]:
    return [
        c
        for c in changes
        if c.address.kind is ResourceKind.LAMBDA_FUNCTION and c.address.container == name
    ]


def _checked_zip(fn: DesiredLambdaFunction, zip_bytes: bytes | None) -> bytes:
    # The plan compared hashes; uploading other bytes would publish unplanned code.
    if zip_bytes is None or code_sha256(zip_bytes) != fn.zip_sha256:
        raise ReconcileError(
            f"lambda {fn.name}: the package given is not the one planned "
            f"(CodeSha256 {fn.zip_sha256})",
            ErrorClass.FATAL,
            "PackageMismatch",
        )
    return zip_bytes


def _config(wire: Mapping[str, Any]) -> LambdaConfig:
    return LambdaConfig(
        runtime=str(wire.get("Runtime", "")),
        handler=str(wire.get("Handler", "")),
        role=str(wire.get("Role", "")),
        memory=int(wire.get("MemorySize", 0)),
        timeout=int(wire.get("Timeout", 0)),
    )


def _unqualified(arn: str) -> str:
    # GetFunctionConfiguration may answer with ...:function:name:$LATEST.
    parts = arn.split(":")
    return ":".join(parts[:7])


def _trusted_services(document: Any) -> set[str]:
    """Service principals allowed sts:AssumeRole by a trust policy (dict or URL-encoded JSON)."""
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = (document or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    trusted: set[str] = set()
    for st in statements:
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if st.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        services = (st.get("Principal") or {}).get("Service", [])
        trusted.update([services] if isinstance(services, str) else services)
    return trusted


def _still_replicated(exc: ClientError) -> bool:
    # AWS: "Lambda was unable to delete <arn> because it is a replicated function."
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "InvalidParameterValueException" and "replica" in message
