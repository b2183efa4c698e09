"""What a saved plan records of the functions it observed, to be refused when they moved."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.core.functions import ObservedFunctions


def observed_versions(
    observed: ObservedFunctions, names: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Per-function versions for Plan.observed_versions: apply refuses a stale saved plan.

    CloudFront Functions: the DEVELOPMENT ETag (the one every write needs). Lambda: the
    $LATEST CodeSha256 plus the newest version number (Lambda has no ETag).
    """
    wanted = set(names)
    out: list[tuple[str, str]] = []
    for name, cf in sorted(observed.cloudfront.items()):
        if wanted and name not in wanted:
            continue
        out.append(
            (f"cloudfront_function:{name}", cf.development.etag if cf.development else "absent")
        )
    for name, fn in sorted(observed.lambdas.items()):
        if wanted and name not in wanted:
            continue
        newest = max((v.number for v in fn.versions), default=0)
        out.append(
            (f"lambda_function:{name}", f"{fn.latest_sha256}#{newest}" if fn.exists else "absent")
        )
    return tuple(out)
