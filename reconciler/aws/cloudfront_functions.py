"""CloudFront Functions adapter: observe both stages; create, update, test, publish by ETag.

Every write carries IfMatch. The ETag that matters is DEVELOPMENT's: UpdateFunction,
TestFunction and PublishFunction all act on DEVELOPMENT, and publishing with the LIVE
ETag fails once DEVELOPMENT has moved (the known trap). A stale ETag is a ConflictError
(re-observe, re-plan). Deciding whether a tested function may be published is the
engine's gate (reconciler/engine/gate.py), not this adapter's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import ConflictError, NotFoundError, translated
from reconciler.core.functions import (
    CloudFrontFunctionConfig,
    CloudFrontFunctionStage,
    DesiredCloudFrontFunction,
    ObservedCloudFrontFunction,
    code_hash,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient

DEVELOPMENT: Final = "DEVELOPMENT"
LIVE: Final = "LIVE"
Stage = Literal["DEVELOPMENT", "LIVE"]


class CloudFrontFunctionsAdapter:
    def __init__(self, target: AwsTarget) -> None:
        self._cf: CloudFrontClient = make_client("cloudfront", target)

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._cf,)

    # -- observe -----------------------------------------------------------------------

    def observe(self, name: str) -> ObservedCloudFrontFunction:
        dev = self._stage(name, DEVELOPMENT)
        if dev is None:
            return ObservedCloudFrontFunction(name)
        stage, arn = dev
        live = self._stage(name, LIVE)  # absent before the first publish
        return ObservedCloudFrontFunction(name, stage, live[0] if live else None, arn)

    def _stage(self, name: str, stage: Stage) -> tuple[CloudFrontFunctionStage, str] | None:
        subject = f"cloudfront function {name}"
        try:
            with translated("DescribeFunction", subject=subject):
                described = self._cf.describe_function(Name=name, Stage=stage)
            with translated("GetFunction", subject=subject):
                got = self._cf.get_function(Name=name, Stage=stage)
        except NotFoundError:
            return None
        # Config (Describe) and code (Get) come from two calls: a write in between would
        # pair one version's config with another's code.
        if described["ETag"] != got["ETag"]:
            raise ConflictError(f"{subject} changed while it was read ({stage})", "ETagMoved")
        code = got["FunctionCode"].read()
        summary = described["FunctionSummary"]
        config = _config_from_wire(summary["FunctionConfig"])
        arn = str(summary["FunctionMetadata"]["FunctionARN"])
        return CloudFrontFunctionStage(code_hash(code), config, str(described["ETag"])), arn

    # -- writes: one conditional call each ---------------------------------------------

    def create(self, fn: DesiredCloudFrontFunction, kvs_arn: str | None) -> str:
        """CreateFunction (DEVELOPMENT); returns its ETag."""
        with translated("CreateFunction", subject=f"cloudfront function {fn.name}"):
            resp = self._cf.create_function(
                Name=fn.name,
                FunctionConfig=_config_to_wire(fn.config, kvs_arn),  # type: ignore[arg-type]
                FunctionCode=fn.code,
            )
        return self._etag_of(fn.name, resp)

    def update(self, fn: DesiredCloudFrontFunction, kvs_arn: str | None, etag: str) -> str:
        """UpdateFunction on DEVELOPMENT under IfMatch; returns the new DEVELOPMENT ETag."""
        with translated("UpdateFunction", subject=f"cloudfront function {fn.name}"):
            resp = self._cf.update_function(
                Name=fn.name,
                IfMatch=etag,
                FunctionConfig=_config_to_wire(fn.config, kvs_arn),  # type: ignore[arg-type]
                FunctionCode=fn.code,
            )
        return self._etag_of(fn.name, resp)

    def test(self, name: str, etag: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """One TestFunction on DEVELOPMENT; returns AWS's TestResult as is."""
        with translated("TestFunction", subject=f"cloudfront function {name}"):
            resp = self._cf.test_function(
                Name=name, IfMatch=etag, Stage=DEVELOPMENT, EventObject=json.dumps(event).encode()
            )
        return dict(resp["TestResult"])

    def publish(self, name: str, development_etag: str) -> None:
        """PublishFunction: LIVE := DEVELOPMENT. Needs DEVELOPMENT's ETag, not LIVE's."""
        with translated("PublishFunction", subject=f"cloudfront function {name}"):
            self._cf.publish_function(Name=name, IfMatch=development_etag)

    def _etag_of(self, name: str, resp: Mapping[str, Any]) -> str:
        # botocore's model reads UpdateFunction's ETag from a header named "ETtag"; when
        # that comes back empty, the real header or a fresh Describe has it.
        etag = resp.get("ETag") or resp["ResponseMetadata"]["HTTPHeaders"].get("etag")
        if not etag:
            with translated("DescribeFunction"):
                etag = self._cf.describe_function(Name=name, Stage=DEVELOPMENT)["ETag"]
        return str(etag)


# -- wire translation ----------------------------------------------------------------------


def _config_to_wire(config: CloudFrontFunctionConfig, kvs_arn: str | None) -> dict[str, Any]:
    wire: dict[str, Any] = {"Comment": config.comment, "Runtime": config.runtime}
    if kvs_arn is not None:
        wire["KeyValueStoreAssociations"] = {
            "Quantity": 1,
            "Items": [{"KeyValueStoreARN": kvs_arn}],
        }
    return wire


def _config_from_wire(wire: Mapping[str, Any]) -> CloudFrontFunctionConfig:
    stores = (wire.get("KeyValueStoreAssociations") or {}).get("Items") or []
    return CloudFrontFunctionConfig(
        runtime=str(wire.get("Runtime", "")),
        comment=str(wire.get("Comment", "")),
        kvs_arn=str(stores[0]["KeyValueStoreARN"]) if stores else None,
    )
