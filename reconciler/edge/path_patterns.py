"""CloudFront cache behaviour selection: path patterns with `*` and `?`, first match wins.

CloudFront compares the request path (before any function runs, without the query
string) with each cache behaviour's PathPattern in the order they are listed, case
sensitively, and uses the default cache behaviour when none matches. `*` matches any
run of characters (also `/`), `?` exactly one; a pattern may omit the leading `/`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_PATH = "default"


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    # DOTALL: a path may contain encoded newlines after decoding; `*` must span them too.
    return re.compile("".join(parts), re.DOTALL)


def pattern_matches(pattern: str, path: str) -> bool:
    return _compiled(pattern).fullmatch(path) is not None


@dataclass(frozen=True)
class Behavior:
    """A cache behaviour of the distribution; `path` is its PathPattern or "default"."""

    path: str
    config: Mapping[str, Any]

    @property
    def target_origin_id(self) -> str:
        return str(self.config["TargetOriginId"])


def select_behavior(distribution_config: Mapping[str, Any], path: str) -> Behavior:
    ordered: Sequence[Mapping[str, Any]] = (
        distribution_config.get("CacheBehaviors", {}).get("Items") or []
    )
    for behavior in ordered:
        if pattern_matches(str(behavior["PathPattern"]), path):
            return Behavior(str(behavior["PathPattern"]), behavior)
    return Behavior(DEFAULT_PATH, distribution_config["DefaultCacheBehavior"])
