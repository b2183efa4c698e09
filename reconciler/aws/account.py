"""The caller's account id (STS GetCallerIdentity), read once per adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reconciler.aws.clients import AwsTarget, make_client
from reconciler.aws.errors import translated

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


class AccountAdapter:
    def __init__(self, target: AwsTarget) -> None:
        self._sts: STSClient = make_client("sts", target)
        self._account: str | None = None

    @property
    def clients(self) -> tuple[Any, ...]:
        return (self._sts,)

    def account_id(self) -> str:
        if self._account is None:
            with translated("GetCallerIdentity"):
                self._account = str(self._sts.get_caller_identity()["Account"])
        return self._account
