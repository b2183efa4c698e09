from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="run")
def command() -> None:
    """Run the reconciler daemon: watch the route files, reconcile on change and periodically."""
    not_implemented("'run'", 7)
