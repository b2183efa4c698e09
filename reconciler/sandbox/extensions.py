"""Installs every extension of moto exactly once per process.

Each extension package owns the gaps it names in its docstrings and exposes install(),
made by guarded_install: its patches go in once, and only onto the moto internals the
package was written against.
Module names must not start with "moto" (moto's error handling keys off module names).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_lock = threading.Lock()
_installed = False


def install_all() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from reconciler.sandbox.awslambda import install as awslambda
        from reconciler.sandbox.cloudfront import install as cloudfront
        from reconciler.sandbox.dynamodb import install as dynamodb
        from reconciler.sandbox.kvs import registration as kvs

        for module in (cloudfront, kvs, dynamodb, awslambda):
            module.install()
        _installed = True


def guarded_install(
    service: str, package: str, check: Callable[[], list[str]], patch: Callable[[], None]
) -> Callable[[], None]:
    """An `install()` that runs `check` (what moto no longer offers, empty when all is
    well) and then `patch`, once; a moto upgrade that moved an internal fails loudly here
    instead of answering wrongly later."""
    lock = threading.Lock()
    installed = False

    def install() -> None:
        nonlocal installed
        with lock:
            if installed:
                return
            problems = check()
            if problems:
                raise RuntimeError(
                    f"moto's {service} internals changed; {package} needs updating: "
                    + "; ".join(problems)
                )
            patch()
            installed = True

    return install
