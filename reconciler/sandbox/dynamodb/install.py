"""The DynamoDB patches, once per process."""

from __future__ import annotations

from reconciler.sandbox.dynamodb import limits


def install() -> None:
    limits.install()
