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
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

import structlog
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import (
    AlreadyExistsError,
    ConflictError,
    FatalError,
    NotFoundError,
    RetryableError,
    translate,
    translated,
)
from reconciler.core.functions import (
    DesiredLambdaFunction,
    LambdaConfig,
    LambdaVersion,
    ObservedLambdaFunction,
)
from reconciler.functions.package_zip import PackageError, content_digest

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient

log = structlog.get_logger("reconciler.functions")

EDGE_REGION = "us-east-1"
REQUIRED_PRINCIPALS = ("lambda.amazonaws.com", "edgelambda.amazonaws.com")
DEFAULT_WAIT_SECONDS = 300
_WAIT_DELAY_SECONDS = 2


MAX_PACKAGE_BYTES = 50 * 1024 * 1024  # origin-event packages (AWS_FACTS: 50 MB)


class LambdaEdgeRegionError(FatalError):
    def __init__(self, region: str) -> None:
        super().__init__(
            f"Lambda@Edge functions must be created in {EDGE_REGION}; this adapter was "
            f"configured for {region!r}. Set the Lambda@Edge region to {EDGE_REGION} "
            "(the rest of the reconciler may use any region).",
            "WrongRegion",
        )


class RoleTrustError(FatalError):
    def __init__(self, role: str, problem: str) -> None:
        super().__init__(f"Lambda@Edge role {role}: {problem}", "RoleTrust")


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
        self._lambda: LambdaClient = make_client("lambda", target, region)
        self._iam: IAMClient = make_client("iam", target, region)
        self._wait_attempts = max(1, int(wait_seconds // _WAIT_DELAY_SECONDS))
        self._digests: dict[str, str] = {}  # CodeSha256 -> content digest (immutable pair)

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._lambda, self._iam)

    # -- observe -----------------------------------------------------------------------

    def observe(self, name: str, ours: str | None = None) -> ObservedLambdaFunction:
        """$LATEST and every published version. For code whose CodeSha256 is not `ours`
        (the declared package's), the files of the deployed package are digested too
        (downloaded once per CodeSha256): a hand-zipped package with the same files is the
        same code."""
        subject = f"lambda {name}"
        try:
            with translated("GetFunctionConfiguration", subject=subject):
                latest = self._lambda.get_function_configuration(FunctionName=name)
        except NotFoundError:
            return ObservedLambdaFunction(name)
        with translated("ListVersionsByFunction", subject=subject):
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
        latest_sha = str(latest["CodeSha256"])
        if ours is not None:
            versions = tuple(
                v if v.code_sha256 == ours else replace(
                    v, content_digest=self._digest(name, str(v.number), v.code_sha256)
                )
                for v in versions
            )
        return ObservedLambdaFunction(
            name,
            exists=True,
            latest_sha256=latest_sha,
            latest_config=_config(latest),
            latest_content_digest=None
            if ours is None or latest_sha == ours
            else self._digest(name, "$LATEST", latest_sha),
            last_update_status=latest.get("LastUpdateStatus"),
            versions=tuple(sorted(versions, key=lambda v: v.number)),
            arn=_unqualified(str(latest["FunctionArn"])),
        )

    def _digest(self, name: str, qualifier: str, sha256: str) -> str | None:
        """The content digest of the package with this CodeSha256 (None: unreadable)."""
        if sha256 not in self._digests:
            try:
                self._digests[sha256] = content_digest(self.download_package(name, qualifier))
            except (RetryableError, FatalError, PackageError) as exc:
                log.warning("lambda.package_unreadable", function=name, qualifier=qualifier, error=str(exc))
                return None
        return self._digests[sha256]

    # -- role --------------------------------------------------------------------------

    def check_role(self, role_arn: str) -> None:
        """The execution role exists and trusts both Lambda and Lambda@Edge replication."""
        name = role_arn.rsplit("/", 1)[-1]
        try:
            with translated("GetRole"):
                role = self._iam.get_role(RoleName=name)["Role"]
        except NotFoundError as exc:
            raise RoleTrustError(role_arn, "the role does not exist") from exc
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
        # "Function already exist: <name>" shares its code with "an update is in progress"
        # (retryable); absent when observed, it is our own lost create or another writer.
        try:
            self._lambda.create_function(
                FunctionName=fn.name,
                Runtime=fn.runtime,  # type: ignore[arg-type]
                Role=fn.role,
                Handler=fn.handler,
                MemorySize=fn.memory,
                Timeout=fn.timeout,
                Code={"ZipFile": zip_bytes},
                Publish=False,
                Description="managed by reconciler",
            )
        except (ClientError, BotoCoreError) as exc:
            overrides = (
                {"ResourceConflictException": AlreadyExistsError}
                if "already exist" in str(exc)
                else None
            )
            raise translate(exc, "CreateFunction", overrides, f"lambda {fn.name}") from exc
        self._wait(fn.name, "function_active")

    def update_code(self, fn: DesiredLambdaFunction, zip_bytes: bytes) -> None:
        with translated("UpdateFunctionCode", subject=f"lambda {fn.name}"):
            self._lambda.update_function_code(FunctionName=fn.name, ZipFile=zip_bytes, Publish=False)
        self._wait(fn.name, "function_updated")

    def update_configuration(self, fn: DesiredLambdaFunction) -> None:
        with translated("UpdateFunctionConfiguration", subject=f"lambda {fn.name}"):
            self._lambda.update_function_configuration(
                FunctionName=fn.name,
                Runtime=fn.runtime,  # type: ignore[arg-type]
                Role=fn.role,
                Handler=fn.handler,
                MemorySize=fn.memory,
                Timeout=fn.timeout,
            )
        self._wait(fn.name, "function_updated")

    def publish(self, fn: DesiredLambdaFunction, code_sha256: str | None = None) -> str:
        """PublishVersion of exactly the planned code ($LATEST's CodeSha256 must be
        `code_sha256`, by default the declared package's); returns the version ARN."""
        expected = code_sha256 or fn.zip_sha256
        # A pending update (ours, or one observed InProgress) makes PublishVersion fail.
        self._wait(fn.name, "function_updated")
        try:
            resp = self._lambda.publish_version(
                FunctionName=fn.name, CodeSha256=expected, Description="managed by reconciler"
            )
        except (ClientError, BotoCoreError) as exc:
            # AWS: "CodeSHA256 (...) is different from current CodeSHA256 in $LATEST": the
            # precondition that plays the ETag's role failed.
            stale = "codesha256" in str(exc).lower()
            raise translate(
                exc,
                "PublishVersion",
                {"InvalidParameterValueException": ConflictError} if stale else None,
                f"lambda {fn.name}",
            ) from exc
        # Checked here too: an API that ignored the precondition must not slip past.
        if resp["CodeSha256"] != expected:
            raise ConflictError(
                f"lambda {fn.name}: published version {resp['Version']} has code "
                f"{resp['CodeSha256']}, not the planned {expected}; re-plan",
                "CodeSha256Mismatch",
            )
        # AWS refuses to associate a version that is still Pending ("The function must be
        # in an Active state"): the wiring that follows needs it Active.
        self._wait(fn.name, "published_version_active", str(resp["Version"]))
        return str(resp["FunctionArn"])

    def delete_version(self, name: str, number: int) -> bool:
        """Deletes one version; False when CloudFront still holds replicas of it (retry later)."""
        try:
            with translated("DeleteFunction", subject=f"lambda {name}:{number}"):
                self._lambda.delete_function(FunctionName=name, Qualifier=str(number))
        except NotFoundError:
            return True  # gone already: the goal
        except FatalError as exc:
            if not _still_replicated(exc):
                raise
            log.info("lambda_version.still_replicated", function=name, version=number)
            return False
        return True

    def code_location(self, name: str, qualifier: str) -> str:
        """GetFunction's Code.Location: a presigned URL of the deployed package."""
        with translated("GetFunction", subject=f"lambda {name}:{qualifier}"):
            resp = self._lambda.get_function(FunctionName=name, Qualifier=qualifier)
        return str(resp["Code"]["Location"])

    def download_package(self, name: str, qualifier: str) -> bytes:
        """The deployed zip of one version (or $LATEST), fetched like any client does."""
        url = self.code_location(name, qualifier)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                data: bytes = resp.read(MAX_PACKAGE_BYTES + 1)
        except OSError as exc:
            where = url.split("?", 1)[0]  # the query string is the signature: never logged
            raise RetryableError(
                f"lambda {name}:{qualifier}: downloading the package from {where} failed: {exc}",
                "PackageDownload",
            ) from exc
        if len(data) > MAX_PACKAGE_BYTES:
            raise FatalError(f"lambda {name}:{qualifier}: package over 50 MB", "PackageTooLarge")
        return data

    def _wait(
        self,
        name: str,
        waiter: Literal["function_active", "function_updated", "published_version_active"],
        qualifier: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"FunctionName": name}
        if qualifier is not None:
            kwargs["Qualifier"] = qualifier
        log.debug("wait.started", waiter=waiter, function=name, qualifier=qualifier)
        try:
            self._lambda.get_waiter(waiter).wait(
                **kwargs,
                WaiterConfig={"Delay": _WAIT_DELAY_SECONDS, "MaxAttempts": self._wait_attempts},
            )
        except WaiterError as exc:
            # Out of attempts: still InProgress, try later. A waiter that met a failure
            # state (LastUpdateStatus Failed) needs the update sent again: the next plan
            # does that, so it is retryable too; anything else (AccessDenied) is fatal.
            last = exc.last_response or {}
            if "Error" in last and "Max attempts" not in str(exc):
                raise translate(
                    _client_error(last, "GetFunctionConfiguration"), "GetFunctionConfiguration"
                ) from exc
            raise RetryableError(
                f"lambda {name} did not settle ({waiter}): {exc}", "LambdaNotSettled"
            ) from exc
        log.debug("wait.finished", waiter=waiter, function=name, qualifier=qualifier)

# -- helpers ---------------------------------------------------------------------------------


def _client_error(response: Mapping[str, Any], operation: str) -> ClientError:
    return ClientError(dict(response), operation)  # type: ignore[arg-type]


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


def _still_replicated(exc: FatalError) -> bool:
    # AWS: "Lambda was unable to delete <arn> because it is a replicated function."
    return exc.code == "InvalidParameterValueException" and "replica" in str(exc).lower()
