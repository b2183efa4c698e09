from __future__ import annotations

import click

from reconciler.cli._common import not_implemented


@click.command(name="test-functions")
def command() -> None:
    """Run the edge functions' test events offline in Node."""
    not_implemented("'test-functions'", 5)
