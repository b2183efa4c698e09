"""The install guard every moto extension package uses (reconciler.sandbox.extensions)."""

from __future__ import annotations

import pytest

from reconciler.sandbox.extensions import guarded_install


def test_patches_go_in_once_when_moto_still_has_what_they_wrap() -> None:
    patched: list[int] = []
    install = guarded_install("Lambda", "pkg", lambda: [], lambda: patched.append(1))
    install()
    install()
    assert patched == [1]


def test_a_moved_internal_fails_loudly_and_patches_nothing() -> None:
    patched: list[int] = []
    install = guarded_install(
        "DynamoDB", "reconciler.sandbox.dynamodb", lambda: ["Table.scan moved"], lambda: patched.append(1)
    )
    with pytest.raises(RuntimeError, match=r"moto's DynamoDB internals changed; reconciler\.sandbox\.dynamodb needs updating: Table\.scan moved"):
        install()
    assert patched == []
