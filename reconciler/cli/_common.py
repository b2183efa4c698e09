"""Helpers shared by the command modules."""

from __future__ import annotations

from typing import NoReturn

import click

# Exit code of a command whose behaviour is not built yet: distinct from 1 (errors found)
# and 2 (plan has changes) so scripts never mistake it for a result.
EXIT_NOT_IMPLEMENTED = 3


def not_implemented(what: str, issue: int) -> NoReturn:
    click.echo(f"reconciler: {what} is not implemented yet (tracked in issue {issue}).", err=True)
    raise SystemExit(EXIT_NOT_IMPLEMENTED)
