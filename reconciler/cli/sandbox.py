from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="sandbox")
def command() -> None:
    """Start the embedded emulated AWS on 127.0.0.1, seeded like the seed's console steps."""
    not_implemented("'sandbox'", 2)
