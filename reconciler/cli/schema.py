from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="schema")
def command() -> None:
    """Write the JSON Schema of the route file documents (for editors and pre-commit)."""
    not_implemented("'schema'", 3)
