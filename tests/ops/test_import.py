"""`reconciler import` against the emulated AWS: the seed's setup, built by a real pass,
imported into an empty folder, plans no changes and validates."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.aws.clients import AwsTarget
from reconciler.cli import main
from reconciler.core.model import Action, ResourceKind
from reconciler.importer import ImportError_, ImportRequest, run_import
from reconciler.importer.functions import FunctionImporter, ImportedFunctions, _unpack, fetch_code
from reconciler.importer.policy import origin_patterns
from reconciler.importer.values import json_line, route_item
from reconciler.pass_report import Outcome
from reconciler.passes import Reconciler

TABLE = "tenant-routing-config-prod"
COMMENT = "edge-routing-example"


@pytest.fixture
def live(repo: Path, seeded: AwsTarget) -> AwsTarget:
    """The walkthrough's whole setup in the account, made by one real pass.

    The sandbox's TestFunction compute figure is wall time against a 1 ms budget and reads
    100 on a cold or busy machine (docs/lifecycle.md): the threshold is not what these
    tests are about, so it is lifted.
    """
    setup = Reconciler(repo / "routes", repo, seeded, max_compute_utilization=100)
    report = setup.run_pass(dry_run=False)
    assert report.outcome is Outcome.APPLIED, report.errors
    return seeded


def _import(target: AwsTarget, out: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["import", "--out", str(out), "--endpoint-url", str(target.endpoint_url), *args],
    )
    return result.exit_code, result.output


def test_import_of_the_seed_setup_plans_no_changes(
    live: AwsTarget, repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "adopted"
    code, output = _import(live, out, "--table", TABLE, "--distribution-comment", COMMENT)
    assert code == 0, output
    assert "note:" not in output, output  # everything live was built by the reconciler

    report = Reconciler(out / "routes", out, live).run_pass(dry_run=True)
    assert report.outcome is Outcome.NO_CHANGES, (report.errors, report.plan)
    validated = CliRunner().invoke(main, ["validate", str(out / "routes")])
    assert validated.exit_code == 0, validated.output

    # The code is the code that was deployed, byte for byte.
    assert (out / "edge_functions/tier-router/index.js").read_bytes() == (
        repo / "edge_functions/tier_router/index.js"
    ).read_bytes()
    assert (out / "edge_functions/tenant-router/index.mjs").read_bytes() == (
        repo / "edge_functions/tenant_router/index.mjs"
    ).read_bytes()
    assert not (out / "edge_functions/tenant-router/config.json").exists()
    docs = {
        d["kind"]: d
        for f in sorted((out / "routes").glob("*.yaml"))
        for d in yaml.safe_load_all(f.read_text())
    }
    assert docs["LambdaEdgeFunction"]["spec"]["config"] == {
        "tableName": TABLE,
        "region": "us-east-1",
    }
    assert docs["CloudFrontFunction"]["spec"]["keyValueStore"] == "tier-origins"
    assert docs["ReconcilerPolicy"]["spec"]["allowedOriginPatterns"] == ["*.example.com"]
    assert docs["Distribution"]["spec"]["selector"] == {"comment": COMMENT}
    behaviors = {b["path"]: b for b in docs["Distribution"]["spec"]["behaviors"]}
    assert behaviors["/tenant/*"]["originRequest"] == {
        "lambda": "tenant-router",
        "includeBody": True,
    }
    assert behaviors["/tenant/*"]["cachePolicy"] == "CachingDisabled"
    assert behaviors["/tenant/*"]["originRequestPolicy"] == "AllViewerExceptHostHeader"
    assert behaviors["default"]["viewerRequest"] == {"function": "tier-router"}
    # 15 items are more than a handful: they went to a bulk file.
    bulk = out / "routes/tenants" / f"{TABLE}.jsonl"
    assert docs["RoutingTable"]["spec"]["itemsFrom"] == [f"tenants/{TABLE}.jsonl"]
    assert len(bulk.read_text().splitlines()) == 15


def test_inline_items_and_an_explicit_store(live: AwsTarget, tmp_path: Path) -> None:
    out = tmp_path / "adopted"
    request = ImportRequest(
        out=out, stores=("tier-origins",), tables=(TABLE,), inline_items_max=100
    )
    result = run_import(request, live)
    assert result.errors == [] and result.notes == []
    assert result.documents["KeyValueStore"] == ["tier-origins"]
    assert not (out / "routes/tenants").exists()
    assert (
        Reconciler(out / "routes", out, live).run_pass(dry_run=True).outcome is Outcome.NO_CHANGES
    )


def test_an_edit_after_import_is_planned(live: AwsTarget, tmp_path: Path) -> None:
    out = tmp_path / "adopted"
    run_import(ImportRequest(out=out, stores=("tier-origins",)), live)
    stores = out / "routes/stores.yaml"
    stores.write_text(stores.read_text().replace("premium-api.example.com", "gold-api.example.com"))
    plan = Reconciler(out / "routes", out, live).run_pass(dry_run=True).plan
    assert plan is not None
    assert [str(c.address) for c in plan.changes] == ["kvs_entry.tier-origins['premium']"]


def test_never_overwrites(live: AwsTarget, tmp_path: Path) -> None:
    out = tmp_path / "adopted"
    assert _import(live, out, "--store", "tier-origins")[0] == 0
    code, output = _import(live, out, "--store", "tier-origins")
    assert code == 1 and "would overwrite routes/policy.yaml, routes/stores.yaml" in output


def test_a_hand_zipped_lambda_is_adopted_with_a_note(
    live: AwsTarget,
    aws,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    # The console zips with real timestamps and deflate: same files, other CodeSha256.
    lam = aws.client("lambda")
    cf = aws.client("cloudfront")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "index.mjs", "export const handler = async (e) => e.Records[0].cf.request;\n"
        )
        archive.writestr("config.json", json.dumps({"tableName": TABLE, "region": "us-east-1"}))
    lam.update_function_code(FunctionName="tenant-router", ZipFile=zipped.getvalue())
    version = lam.publish_version(FunctionName="tenant-router")["FunctionArn"]
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    got = cf.get_distribution_config(Id=summary["Id"])
    config = got["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"] = version
    cf.update_distribution(Id=summary["Id"], IfMatch=got["ETag"], DistributionConfig=config)

    out = tmp_path / "adopted"
    result = run_import(ImportRequest(out=out, distribution_comments=(COMMENT,)), live)
    assert result.errors == []
    assert any("was not built by the reconciler" in n for n in result.notes), result.notes
    assert (out / "edge_functions/tenant-router/index.mjs").read_text().startswith("export")
    # What the note says the first apply does: the same files, rebuilt, as one new version.
    plan = Reconciler(out / "routes", out, live).run_pass(dry_run=True).plan
    assert plan is not None
    assert {(c.address.kind, c.action) for c in plan.changes} == {
        (ResourceKind.LAMBDA_FUNCTION, Action.UPDATE),
        (ResourceKind.LAMBDA_FUNCTION, Action.PUBLISH),
        (ResourceKind.DISTRIBUTION_BEHAVIOR, Action.UPDATE),
    }


def test_unpublished_cloudfront_edits_are_noted_and_live_is_declared(
    live: AwsTarget,
    aws,
    repo: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    cf = aws.client("cloudfront")
    described = cf.describe_function(Name="tier-router", Stage="DEVELOPMENT")
    cf.update_function(
        Name="tier-router",
        IfMatch=described["ETag"],
        FunctionConfig=described["FunctionSummary"]["FunctionConfig"],
        FunctionCode=b"function handler(event) { return event.request; }\n",
    )
    out = tmp_path / "adopted"
    result = run_import(ImportRequest(out=out, distribution_comments=(COMMENT,)), live)
    assert any("DEVELOPMENT differs from LIVE" in n for n in result.notes), result.notes
    assert (out / "edge_functions/tier-router/index.js").read_bytes() == (
        repo / "edge_functions/tier_router/index.js"
    ).read_bytes()
    plan = Reconciler(out / "routes", out, live).run_pass(dry_run=True).plan
    assert plan is not None
    assert [(c.address.kind, c.action) for c in plan.changes] == [
        (ResourceKind.CLOUDFRONT_FUNCTION, Action.UPDATE)
    ]


def test_nothing_to_import_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="nothing to import"):
        run_import(ImportRequest(out=tmp_path), AwsTarget(endpoint_url="http://127.0.0.1:9"))


# -- pure helpers ---------------------------------------------------------------------------


def test_items_round_trip_exactly() -> None:
    wire = {
        "tenantId": {"S": "acme"},
        "weight": {"N": "0.750"},
        "count": {"N": "10"},
        "on": {"BOOL": True},
        "none": {"NULL": True},
        "tags": {"L": [{"S": "x"}, {"N": "2"}]},
        "nested": {"M": {"a": {"N": "1E+2"}}},
    }
    item = route_item(wire, "t")
    assert item["weight"] == __import__("decimal").Decimal("0.75") and item["count"] == 10
    assert json.loads(json_line(item)) == {
        "count": 10,
        "nested": {"a": 100},
        "none": None,
        "on": True,
        "tags": ["x", 2],
        "tenantId": "acme",
        "weight": 0.75,
    }
    assert '"weight": 0.75' in json_line(item)


def test_sets_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="SS"):
        route_item({"tags": {"SS": ["a"]}}, "t")


def test_origin_patterns() -> None:
    assert origin_patterns(["a.example.com", "B.Example.com", "x.y.other.org", "example.net"]) == [
        "*.example.com",
        "*.y.other.org",
        "example.net",
    ]


@pytest.mark.parametrize("name", ["../evil.js", "/etc/passwd", "a/../../b"])
def test_unsafe_package_paths_are_refused(name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    with pytest.raises(ImportError_, match="unsafe path"):
        _unpack(buffer.getvalue(), "fn:1")


def test_a_package_the_reconciler_cannot_rebuild_is_noted() -> None:
    into = ImportedFunctions()
    importer = FunctionImporter(AwsTarget(endpoint_url="http://127.0.0.1:9"))
    files = {
        "index.mjs": b"export const handler = 1;\n",
        "package.json": b'{"dependencies": {"x": "1"}}',
    }
    importer._compare_package("fn", 1, files, {}, "sha", into)
    assert len(into.notes) == 1 and "cannot build a package" in into.notes[0], into.notes


def test_a_failed_download_does_not_show_the_presigned_signature() -> None:
    with pytest.raises(ImportError_) as failed:
        fetch_code("http://127.0.0.1:9/pkg.zip?X-Amz-Signature=s3cr3t")
    assert "s3cr3t" not in str(failed.value) and "X-Amz-Signature=***" in str(failed.value)
