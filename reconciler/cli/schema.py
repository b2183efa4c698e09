from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.routes import route_document_schema


@click.command(name="schema")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output.",
)
def command(out: Path | None) -> None:
    """Write the JSON Schema of the route file documents (for editors and pre-commit).

    One schema applies to every document of a file: a oneOf over the kinds, discriminated
    by `kind`. For yaml-language-server, start a route file with
    `# yaml-language-server: $schema=<path to the schema>`.
    """
    text = json.dumps(route_document_schema(), indent=2, sort_keys=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
