"""Lambda version numbers in the sandbox grow and are never reused after a delete."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.lifecycle.conftest import trust_policy


def _zip(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.mjs", text)
    return buffer.getvalue()


def test_a_deleted_version_number_is_not_given_again(aws: Any) -> None:
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="r", AssumeRolePolicyDocument=trust_policy("lambda.amazonaws.com")
    )["Role"]["Arn"]
    lam = aws.client("lambda")
    lam.create_function(
        FunctionName="f", Runtime="nodejs20.x", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip("// v0")},
    )  # fmt: skip
    numbers = []
    for n in range(1, 4):
        lam.update_function_code(FunctionName="f", ZipFile=_zip(f"// v{n}"))
        numbers.append(lam.publish_version(FunctionName="f")["Version"])
    lam.delete_function(FunctionName="f", Qualifier="3")
    lam.delete_function(FunctionName="f", Qualifier="2")
    lam.update_function_code(FunctionName="f", ZipFile=_zip("// v4"))
    numbers.append(lam.publish_version(FunctionName="f")["Version"])
    assert numbers == ["1", "2", "3", "4"]
    listed = [v["Version"] for v in lam.list_versions_by_function(FunctionName="f")["Versions"]]
    assert listed == ["$LATEST", "1", "4"]
    # Unchanged code: the latest version again, no new number.
    assert lam.publish_version(FunctionName="f")["Version"] == "4"
