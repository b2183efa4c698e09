"""Installs every extension of moto exactly once per process.

Each extension package owns the gaps it names in its docstrings and exposes install().
Module names must not start with "moto" (moto's error handling keys off module names).
"""

from __future__ import annotations

import threading

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
