"""Edge function lifecycle, pure: desired and observed functions -> the changes that converge them.

CloudFront Functions have two stages. UpdateFunction writes DEVELOPMENT, PublishFunction
copies DEVELOPMENT to LIVE, and only LIVE serves traffic; so the plan compares DEVELOPMENT
with the declaration (UPDATE) and LIVE with the declaration (PUBLISH) separately. A pass
that updated but failed its tests leaves DEVELOPMENT ahead of LIVE: the next pass plans
only the PUBLISH (after testing again), not a second update.

Lambda@Edge serves numbered versions. $LATEST is compared with the declaration (UPDATE);
a new version is planned only when no published version already carries the declared code
and configuration. Old versions are deleted in the CLEANUP phase, never one that a
distribution references. Code identity: SHA-256 hex of CloudFront Function code; for a
Lambda, its CodeSha256 or the digest of the package's files (a zip made by hand holds the
same code when its files are the same). Plans show short hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.model import Action, Address, Change, Phase, ResourceKind

CLOUDFRONT_JS_2 = "cloudfront-js-2.0"
SHORT_HASH = 12


def code_hash(code: bytes) -> str:
    """Identity of CloudFront Function code: SHA-256 hex of the exact bytes."""
    return hashlib.sha256(code).hexdigest()


def short(digest: str | None) -> str | None:
    return None if digest is None else digest[:SHORT_HASH]


# ----------------------------------------------------------------- CloudFront Functions


@dataclass(frozen=True)
class CloudFrontFunctionConfig:
    runtime: str = CLOUDFRONT_JS_2
    comment: str = ""
    kvs_arn: str | None = None  # at most one store per function (an AWS limit)

    def shown(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "comment": self.comment, "keyValueStore": self.kvs_arn}


@dataclass(frozen=True)
class DesiredCloudFrontFunction:
    name: str
    code: bytes
    runtime: str = CLOUDFRONT_JS_2
    comment: str = ""
    kvs_arn: str | None = None

    @property
    def code_sha256(self) -> str:
        return code_hash(self.code)

    @property
    def config(self) -> CloudFrontFunctionConfig:
        return CloudFrontFunctionConfig(self.runtime, self.comment, self.kvs_arn)


@dataclass(frozen=True)
class CloudFrontFunctionStage:
    """One stage as observed: what code and config it holds, and its ETag."""

    code_sha256: str
    config: CloudFrontFunctionConfig
    etag: str


@dataclass(frozen=True)
class ObservedCloudFrontFunction:
    name: str
    development: CloudFrontFunctionStage | None = None  # None: the function does not exist
    live: CloudFrontFunctionStage | None = None  # None: never published
    arn: str | None = None

    @property
    def exists(self) -> bool:
        return self.development is not None


def _stage_shown(code_sha256: str, config: CloudFrontFunctionConfig) -> dict[str, Any]:
    return {"code": short(code_sha256), **config.shown()}


def _stage_matches(stage: CloudFrontFunctionStage | None, want: DesiredCloudFrontFunction) -> bool:
    return (
        stage is not None and stage.code_sha256 == want.code_sha256 and stage.config == want.config
    )


def _cloudfront_changes(
    want: DesiredCloudFrontFunction, seen: ObservedCloudFrontFunction
) -> list[Change]:
    address = Address(ResourceKind.CLOUDFRONT_FUNCTION, want.name)
    after = _stage_shown(want.code_sha256, want.config)
    changes: list[Change] = []
    dev = seen.development
    if dev is None:
        changes.append(
            Change(
                address,
                Action.CREATE,
                Phase.FUNCTIONS,
                after=after,
                reason="declared function does not exist",
            )
        )
    elif not _stage_matches(dev, want):
        changes.append(
            Change(
                address,
                Action.UPDATE,
                Phase.FUNCTIONS,
                before=_stage_shown(dev.code_sha256, dev.config),
                after=after,
                reason=_differences(
                    dev.code_sha256, dev.config, want.code_sha256, want.config, "DEVELOPMENT"
                ),
            )
        )
    if not _stage_matches(seen.live, want):
        live = seen.live
        changes.append(
            Change(
                address,
                Action.PUBLISH,
                Phase.FUNCTIONS,
                before=None if live is None else _stage_shown(live.code_sha256, live.config),
                after=after,
                reason="never published (no LIVE stage)"
                if live is None
                else _differences(
                    live.code_sha256, live.config, want.code_sha256, want.config, "LIVE"
                ),
            )
        )
    return changes


def _differences(
    have_code: str,
    have: CloudFrontFunctionConfig,
    want_code: str,
    want: CloudFrontFunctionConfig,
    stage: str,
) -> str:
    what = [
        label
        for label, differs in (
            ("code", have_code != want_code),
            ("runtime", have.runtime != want.runtime),
            ("comment", have.comment != want.comment),
            ("key value store", have.kvs_arn != want.kvs_arn),
        )
        if differs
    ]
    return f"{stage} {', '.join(what)} differ{'s' if len(what) == 1 else ''}"


# ------------------------------------------------------------------------ Lambda@Edge


@dataclass(frozen=True)
class LambdaConfig:
    runtime: str
    handler: str
    role: str
    memory: int
    timeout: int

    def shown(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "handler": self.handler,
            "role": self.role,
            "memory": self.memory,
            "timeout": self.timeout,
        }


@dataclass(frozen=True)
class DesiredLambdaFunction:
    name: str
    zip_sha256: str  # base64, as Lambda's CodeSha256
    runtime: str
    handler: str
    role: str
    memory: int = 128
    timeout: int = 5
    keep_versions: int = 3
    # The package's files (paths and contents), whatever zip carries them: a package zipped
    # by hand in the console is the same code as ours when its files are the same.
    content_digest: str | None = None

    def same_code(self, sha256: str | None, digest: str | None) -> bool:
        return sha256 == self.zip_sha256 or (
            self.content_digest is not None and digest == self.content_digest
        )

    @property
    def config(self) -> LambdaConfig:
        return LambdaConfig(self.runtime, self.handler, self.role, self.memory, self.timeout)


@dataclass(frozen=True)
class LambdaVersion:
    """A published (numbered) version: immutable code and configuration."""

    number: int
    arn: str
    code_sha256: str
    config: LambdaConfig
    content_digest: str | None = None  # of its files (known when its CodeSha256 is not ours)


@dataclass(frozen=True)
class ObservedLambdaFunction:
    name: str
    exists: bool = False
    latest_sha256: str | None = None  # $LATEST
    latest_config: LambdaConfig | None = None
    latest_content_digest: str | None = None
    last_update_status: str | None = None  # Successful | InProgress | Failed
    versions: tuple[LambdaVersion, ...] = ()
    arn: str | None = None


def matching_version(
    want: DesiredLambdaFunction, seen: ObservedLambdaFunction
) -> LambdaVersion | None:
    """The newest published version with the declared code and config (what wiring uses)."""
    hits = [
        v
        for v in seen.versions
        if want.same_code(v.code_sha256, v.content_digest) and v.config == want.config
    ]
    return max(hits, key=lambda v: v.number, default=None)


def _lambda_shown(sha: str | None, config: LambdaConfig | None) -> dict[str, Any]:
    return {"code": short(sha), **(config.shown() if config else {})}


def _lambda_changes(
    want: DesiredLambdaFunction, seen: ObservedLambdaFunction, associated: frozenset[str]
) -> list[Change]:
    address = Address(ResourceKind.LAMBDA_FUNCTION, want.name)
    after = _lambda_shown(want.zip_sha256, want.config)
    changes: list[Change] = []
    if not seen.exists:
        changes.append(
            Change(
                address,
                Action.CREATE,
                Phase.FUNCTIONS,
                after=after,
                reason="declared function does not exist",
            )
        )
    else:
        reason = _latest_drift(want, seen)
        if reason:
            changes.append(
                Change(
                    address,
                    Action.UPDATE,
                    Phase.FUNCTIONS,
                    before=_lambda_shown(seen.latest_sha256, seen.latest_config),
                    after=after,
                    reason=reason,
                )
            )
    publishing = matching_version(want, seen) is None
    if publishing:
        changes.append(
            Change(
                address,
                Action.PUBLISH,
                Phase.FUNCTIONS,
                after=after,
                reason="no published version has the declared code and configuration",
            )
        )
    changes += _cleanup_changes(want, seen, associated, publishing)
    return changes


def _latest_drift(want: DesiredLambdaFunction, seen: ObservedLambdaFunction) -> str:
    # A failed update leaves $LATEST unusable for PublishVersion: send it again.
    if seen.last_update_status == "Failed":
        return "$LATEST last update failed"
    what = []
    if not want.same_code(seen.latest_sha256, seen.latest_content_digest):
        what.append("code")
    if seen.latest_config != want.config:
        what.append("configuration")
    return f"$LATEST {' and '.join(what)} differ{'s' if len(what) == 1 else ''}" if what else ""


def _cleanup_changes(
    want: DesiredLambdaFunction,
    seen: ObservedLambdaFunction,
    associated: frozenset[str],
    publishing: bool,
) -> list[Change]:
    """Versions beyond the newest keep_versions, counting the one this plan publishes.

    Never deleted: versions a distribution references (their replicas may still serve
    traffic), and the version the declaration maps to (the wiring is about to use it).
    """
    keep = max(1, want.keep_versions) - (1 if publishing else 0)
    newest_first = sorted(seen.versions, key=lambda v: v.number, reverse=True)
    current = matching_version(want, seen)
    return [
        Change(
            Address(ResourceKind.LAMBDA_FUNCTION, want.name, str(v.number)),
            Action.DELETE,
            Phase.CLEANUP,
            before={"version": v.number, "arn": v.arn, "code": short(v.code_sha256)},
            reason=f"older than the newest {max(1, want.keep_versions)} versions, not associated",
        )
        for v in newest_first[max(keep, 0) :]
        if v.arn not in associated and v != current
    ]


# ------------------------------------------------------------------------ the whole set


@dataclass(frozen=True)
class DesiredFunctions:
    cloudfront: tuple[DesiredCloudFrontFunction, ...] = ()
    lambdas: tuple[DesiredLambdaFunction, ...] = ()


@dataclass(frozen=True)
class ObservedFunctions:
    cloudfront: Mapping[str, ObservedCloudFrontFunction] = field(default_factory=dict)
    lambdas: Mapping[str, ObservedLambdaFunction] = field(default_factory=dict)
    # Version ARNs any distribution references now (from the wiring's observation):
    # clean-up never deletes these.
    associated_version_arns: frozenset[str] = frozenset()


def plan_functions(desired: DesiredFunctions, observed: ObservedFunctions) -> tuple[Change, ...]:
    """Changes that converge the declared edge functions; nothing for what already matches.

    Order within a function is CREATE/UPDATE, then PUBLISH, then (CLEANUP phase) DELETEs:
    the executor tests between the write and the publish.
    """
    changes: list[Change] = []
    for cf in desired.cloudfront:
        seen = observed.cloudfront.get(cf.name) or ObservedCloudFrontFunction(cf.name)
        changes += _cloudfront_changes(cf, seen)
    for fn in desired.lambdas:
        seen_fn = observed.lambdas.get(fn.name) or ObservedLambdaFunction(fn.name)
        changes += _lambda_changes(fn, seen_fn, observed.associated_version_arns)
    return tuple(sorted(changes, key=_order))


_ACTION_ORDER = {Action.CREATE: 0, Action.UPDATE: 1, Action.PUBLISH: 2, Action.DELETE: 3}


def _order(change: Change) -> tuple[int, str, str, int, int]:
    # Versions sort numerically so clean-up reads oldest first.
    key = change.address.key
    number = int(key) if key is not None and key.isdigit() else -1
    return (
        change.phase,
        change.address.kind.value,
        change.address.container,
        _ACTION_ORDER[change.action],
        number,
    )
