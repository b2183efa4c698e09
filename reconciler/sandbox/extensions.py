"""Installs every extension of moto exactly once per process.

Each extension module owns one gap listed in shared/AWS_FACTS.md and exposes install().
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
        from reconciler.sandbox import (
            cloudfront_distributions,
            cloudfront_functions,
            dynamodb_limits,
            kvs_dataplane,
            lambda_versions,
        )

        for module in (
            cloudfront_distributions,
            cloudfront_functions,
            kvs_dataplane,
            dynamodb_limits,
            lambda_versions,
        ):
            module.install()
        _installed = True
