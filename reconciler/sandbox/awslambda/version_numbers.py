"""Lambda version numbers that grow and are never given twice, as on AWS.

AWS numbers each published version from a per-function counter: deleting version 3 does
not make the next publish "3" again (the Lambda Developer Guide's "Creating function
versions": each publish increments the version number). moto numbers a new version
len(versions) + 1 (moto/awslambda/models.py LambdaStorage.publish_version), so after a
delete the next publish reuses a number and two versions share it. The reconciler deletes
old versions routinely, so the sandbox keeps the counter per function name in the function
store itself (a sandbox reset builds new stores and starts from 1 again). Not modelled:
whether AWS restarts the counter for a function deleted and created again.
"""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_lock = threading.Lock()
_COUNTERS = "_reconciler_highest_version"  # function name -> highest number ever published


def install() -> None:
    """Wrap LambdaStorage.publish_version (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.awslambda.models import LambdaStorage

    original = LambdaStorage.publish_version

    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        name = function.function_name
        with _lock:
            highest: dict[str, int] = self.__dict__.setdefault(_COUNTERS, {})
            versions = self._functions.get(function.function_name, {}).get("versions", [])
            before = {id(v) for v in versions}
            published = original(self, name_or_arn, description)
            if published is None or id(published) in before:
                return published  # nothing new (unchanged code returns the latest version)
            others = [int(v.version) for v in versions if v is not published]
            number = max([highest.get(name, 0), *others]) + 1
            if int(published.version) != number:
                self._arns.pop(published.function_arn, None)
                published.set_version(number)
                self._arns[published.function_arn] = published
            highest[name] = number
            return published

    publish_version.__wrapped__ = original  # type: ignore[attr-defined]
    LambdaStorage.publish_version = publish_version  # type: ignore[method-assign]
    _installed = True
