"""Origin domain names: what CloudFront's origin helpers accept, and what the policy allows.

The rules follow `cf.updateRequestOrigin` (no `:`, not an IP, at most 253 characters) and
DNS (labels of 1-63 letters, digits or inner hyphens). A scheme, port or path is the most
common mistake, so those get their own message. Results are cached: 100k tenants share
a handful of backends.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

from reconciler.routes.limits import DNS_LABEL_MAX, DNS_NAME_MAX

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_NUMERIC_TLD = re.compile(r"^[0-9]+$")
# Origins repeat (a few shared backends across 100k tenants): a small cache keeps those
# hot. Unique ones are checked once per new line anyway (the loader keeps checked lines),
# and 65,536 entries held ~7.5 MB for the daemon's whole life at 100k tenants.
_CACHED = 4096


@lru_cache(maxsize=_CACHED)
def dns_name_problem(value: str) -> str | None:
    """Why `value` is not a usable origin domain name, or None when it is."""
    if "://" in value:
        return "no scheme allowed"
    if ":" in value:
        return "no port allowed, nor an IPv6 address"
    if "/" in value:
        return "no path allowed"
    if not value:
        return "empty"
    if len(value) > DNS_NAME_MAX:
        return f"longer than {DNS_NAME_MAX} characters"
    if value.endswith("."):
        return "no trailing dot allowed"
    labels = value.split(".")
    if len(labels) < 2:
        return "a single label is not a public domain name"
    for label in labels:
        if len(label) > DNS_LABEL_MAX:
            return f"label {label[:20]!r}... is longer than {DNS_LABEL_MAX} characters"
        if not _LABEL.match(label):
            return f"label {label!r} must be letters, digits and inner hyphens"
    if _NUMERIC_TLD.match(labels[-1]):
        return "an IP address is not allowed"
    return None


@lru_cache(maxsize=_CACHED)
def origin_allowed(value: str, patterns: tuple[str, ...]) -> bool:
    name = value.lower()
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in patterns)


def origin_problem(value: object, patterns: tuple[str, ...] | None) -> tuple[str, str] | None:
    """(message, code) for an origin value, or None. `patterns` None: no policy to apply."""
    if not isinstance(value, str):
        return f"origin must be a string, not {type(value).__name__}", "origin-invalid"
    problem = dns_name_problem(value)
    if problem is not None:
        return f"value is not a valid DNS name: {value!r} ({problem})", "origin-invalid"
    if patterns is not None and not origin_allowed(value, patterns):
        allowed = ", ".join(patterns)
        return (
            f"origin {value!r} does not match the allowed origin patterns ({allowed})",
            "origin-not-allowed",
        )
    return None
