from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="validate")
def command() -> None:
    """Validate the route files in DIR and report every error with file, line and field."""
    not_implemented("'validate'", 3)
