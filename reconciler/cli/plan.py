from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="plan")
def command() -> None:
    """Show what apply would change: observe live AWS, diff it against the route files."""
    not_implemented("'plan'", 4)
