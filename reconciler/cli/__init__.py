"""The `reconciler` command line.

Each command lives in its own module so that it can grow (and be owned) on its own; this
module only assembles the group.
"""

from __future__ import annotations

import click

from reconciler import __version__
from reconciler.cli import (
    apply,
    daemon_cmds,
    iam_policy,
    import_cmd,
    plan,
    run,
    sandbox,
    schema,
    smoke,
    test_functions,
    validate,
)
from reconciler.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "console"]),
    default="auto",
    show_default=True,
    envvar="RECONCILER_LOG_FORMAT",
    help="Log rendering: JSON lines, human-readable console, or auto (console on a terminal, JSON otherwise).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    envvar="RECONCILER_LOG_LEVEL",
)
def main(log_format: str, log_level: str) -> None:
    """Reconcile CloudFront dynamic origin routing with the route files in a Git repository.

    Route files (routes/) declare a CloudFront KeyValueStore of tier origins, a DynamoDB
    table of tenant backends, the edge functions in edge_functions/ and how a distribution
    wires them. The reconciler validates them, diffs them against live AWS and applies
    the difference.
    """
    configure_logging(fmt=log_format, level=log_level)


for module in (
    validate, schema, plan, apply, run, sandbox, test_functions, import_cmd, smoke, iam_policy
):
    main.add_command(module.command)
# Clients of a running daemon (its HTTP API).
for client_command in daemon_cmds.COMMANDS:
    main.add_command(client_command)
