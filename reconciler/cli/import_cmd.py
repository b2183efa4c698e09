"""`reconciler import`: write route files from what already exists in an account."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.aws.clients import AwsTarget
from reconciler.importer.model import DEFAULT_INLINE_ITEMS_MAX

EXIT_OK, EXIT_ERROR = 0, 1


@click.command(name="import")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Repository root to write into: route files go to OUT/routes, code to OUT/edge_functions. Nothing existing is overwritten.",
)
@click.option(
    "--store",
    "stores",
    multiple=True,
    metavar="NAME",
    help="A KeyValueStore to declare (repeatable). Stores the imported functions read are imported anyway.",
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="NAME",
    help="A DynamoDB table to declare, every item (repeatable).",
)
@click.option(
    "--distribution-id",
    "distribution_ids",
    multiple=True,
    metavar="ID",
    help="A distribution to declare by id (repeatable).",
)
@click.option(
    "--distribution-comment",
    "distribution_comments",
    multiple=True,
    metavar="COMMENT",
    help="A distribution to declare by its comment (repeatable); the files then select it by comment, so they also serve other accounts.",
)
@click.option(
    "--origin-attribute",
    "origin_attributes",
    multiple=True,
    default=("defaultBackend",),
    show_default=True,
    help="Table attribute holding an origin domain (repeatable).",
)
@click.option(
    "--inline-items-max",
    type=click.IntRange(0),
    default=DEFAULT_INLINE_ITEMS_MAX,
    show_default=True,
    help="Tables with more items get a JSONL bulk file under OUT/routes/tenants/.",
)
@click.option(
    "--region",
    default="us-east-1",
    show_default=True,
    envvar=["RECONCILER_REGION", "AWS_REGION"],
    help="Region of the DynamoDB table (Lambda@Edge is always us-east-1).",
)
@click.option(
    "--endpoint-url",
    default=None,
    envvar="AWS_ENDPOINT_URL",
    help="Send every AWS call here (the sandbox: see `reconciler sandbox`).",
)
def command(
    out: Path,
    stores: tuple[str, ...],
    tables: tuple[str, ...],
    distribution_ids: tuple[str, ...],
    distribution_comments: tuple[str, ...],
    origin_attributes: tuple[str, ...],
    inline_items_max: int,
    region: str,
    endpoint_url: str | None,
) -> None:
    """Write route files that declare what already exists: adopt a hand-made setup.

    A distribution brings its behaviours that run edge code, the functions they run
    (CloudFront Function LIVE code; the associated Lambda@Edge version's package) and the
    stores those functions read. A ReconcilerPolicy allows the origin domains found.
    Reads only; writes nothing to AWS. Then: review, commit, and check that
    `reconciler plan` shows no changes. Exit status 0, or 1 when the import failed or
    the files written do not validate.
    """
    from reconciler.aws.errors import SDK_ERRORS, describe
    from reconciler.importer import ImportError_, ImportRequest, run_import

    request = ImportRequest(
        out=out,
        stores=stores,
        tables=tables,
        distribution_ids=distribution_ids,
        distribution_comments=distribution_comments,
        origin_attributes=origin_attributes,
        inline_items_max=inline_items_max,
    )
    try:
        result = run_import(request, AwsTarget(region=region, endpoint_url=endpoint_url))
    except ImportError_ as exc:
        click.echo(f"reconciler import: {exc}", err=True)
        raise SystemExit(EXIT_ERROR) from exc
    except SDK_ERRORS as exc:
        click.echo(f"reconciler import: AWS error: {describe(exc)}", err=True)
        raise SystemExit(EXIT_ERROR) from exc
    for kind, names in result.documents.items():
        if names:
            click.echo(f"{kind}: {', '.join(names)}")
    click.echo(f"wrote {len(result.files)} files under {out}")
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.errors:
        click.echo("the files written do not validate (fix them before committing):", err=True)
        for line in result.errors:
            click.echo(line, err=True)
        raise SystemExit(EXIT_ERROR)
    click.echo(
        f"next: reconciler validate {request.routes_dir} && reconciler plan --routes {request.routes_dir}"
    )
