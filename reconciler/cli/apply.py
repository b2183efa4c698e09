from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="apply")
def command() -> None:
    """Apply the difference between the route files and live AWS."""
    not_implemented("'apply'", 4)
