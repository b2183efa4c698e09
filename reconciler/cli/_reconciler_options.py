"""Options shared by the commands that talk to AWS (plan, apply), and the engine they build."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from reconciler.aws.clients import AwsTarget

if TYPE_CHECKING:
    from reconciler.engine import Reconciler

F = TypeVar("F", bound=Callable[..., Any])


def aws_options(func: F) -> F:
    options = [
        click.option(
            "--routes-dir",
            "--routes",
            "routes_dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("routes"),
            show_default=True,
            envvar="RECONCILER_ROUTES_DIR",
            help="Directory of route files.",
        ),
        click.option(
            "--root",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            envvar="RECONCILER_ROOT",
            help="Repository root that function source paths are relative to [default: parent of --routes].",
        ),
        click.option(
            "--region",
            default="us-east-1",
            show_default=True,
            envvar=["RECONCILER_REGION", "AWS_REGION"],
            help="Region of the DynamoDB table (Lambda@Edge is always us-east-1).",
        ),
        click.option(
            "--endpoint-url",
            default=None,
            envvar="AWS_ENDPOINT_URL",
            help="Send every AWS call here (the sandbox: see `reconciler sandbox`).",
        ),
        click.option(
            "--allow-mass-delete",
            is_flag=True,
            help="Let prunes delete more than the guard allows, or empty a store or table.",
        ),
        click.option(
            "--env",
            default=None,
            envvar="RECONCILER_ENV",
            help="Environment whose ROOT/environments/NAME.yaml gives ${VARIABLE} values "
            "(RECONCILER_VAR_<NAME> fills names the file leaves open).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_reconciler(
    routes_dir: Path,
    root: Path | None,
    region: str,
    endpoint_url: str | None,
    allow_mass_delete: bool,
    env: str | None = None,
) -> Reconciler:
    from reconciler.engine import EngineSettings, Reconciler

    target = AwsTarget(region=region, endpoint_url=endpoint_url)
    settings = EngineSettings(
        allow_mass_delete=allow_mass_delete, environment=env, environ=dict(os.environ)
    )
    return Reconciler(routes_dir, root, target, settings=settings)
