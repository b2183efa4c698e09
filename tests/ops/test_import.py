"""`reconciler import` against the emulated AWS: the seed's setup, built by a real pass,
imported into an empty folder, plans no changes and validates."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from reconciler.aws.clients import AwsTarget
from reconciler.cli import main
from reconciler.core.model import Action, ResourceKind
from reconciler.engine import EngineSettings, GateSettings, Outcome, Reconciler
from reconciler.functions.package_zip import build_package, code_sha256, content_digest
from reconciler.importer import ImportError_, ImportRequest, run_import
from reconciler.importer.functions import FunctionImporter, ImportedFunctions, _unpack, fetch_code
from reconciler.importer.policy import origin_patterns
from reconciler.importer.values import json_line, route_item

TABLE = "tenant-routing-config-prod"
COMMENT = "edge-routing-example"


@pytest.fixture
def live(repo: Path, seeded: AwsTarget) -> AwsTarget:
    """The walkthrough's whole setup in the account, made by one real pass.

    The compute-utilization threshold is not what these tests are about, so it is lifted
    (the sandbox's figure is CPU time on this machine, docs/edge-functions.md).
    """
    setup = Reconciler(repo / "routes", repo, seeded, settings=EngineSettings(gate=GateSettings(max_compute_utilization=100)))
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
    assert code == 1 and "would overwrite routes/policy.yaml, routes/route-document.schema.json, routes/stores.yaml" in output


def _hand_zip(files: dict[str, bytes]) -> bytes:
    """Zipped like the console or Python's zipfile: real timestamps, deflate, other modes
    and order, a directory entry."""
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("lib/", date_time=(2025, 3, 4, 5, 6, 8)), b"")
        for i, (name, data) in enumerate(sorted(files.items(), reverse=True)):
            info = zipfile.ZipInfo(name, date_time=(2025, 3, 4, 5, 6, 10 + 2 * i))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100664 << 16
            archive.writestr(info, data)
    return zipped.getvalue()


def _publish_and_wire(aws, zip_bytes: bytes) -> str:  # type: ignore[no-untyped-def]
    lam = aws.client("lambda")
    cf = aws.client("cloudfront")
    lam.update_function_code(FunctionName="tenant-router", ZipFile=zip_bytes)
    version = lam.publish_version(FunctionName="tenant-router")["FunctionArn"]
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    got = cf.get_distribution_config(Id=summary["Id"])
    config = got["DistributionConfig"]
    (tenant,) = [b for b in config["CacheBehaviors"]["Items"] if b["PathPattern"] == "/tenant/*"]
    tenant["LambdaFunctionAssociations"]["Items"][0]["LambdaFunctionARN"] = version
    cf.update_distribution(Id=summary["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    return str(version)


HAND_CONFIG = json.dumps({"tableName": TABLE, "region": "us-east-1"}, indent=2).encode()
HAND_CODE = b"export const handler = async (e) => e.Records[0].cf.request;\n"


def test_a_hand_zipped_lambda_is_adopted_file_for_file(live: AwsTarget, aws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The console zips with real timestamps and deflate: same files, other CodeSha256; and
    # its config.json is hand-written (not the reconciler's canonical JSON).
    deployed = _hand_zip({"index.mjs": HAND_CODE, "config.json": HAND_CONFIG, "lib/a.mjs": b"x"})
    _publish_and_wire(aws, deployed)
    out = tmp_path / "adopted"
    result = run_import(ImportRequest(out=out, distribution_comments=(COMMENT,)), live)
    assert result.errors == [] and result.notes == []
    folder = out / "edge_functions/tenant-router"
    assert (folder / "index.mjs").read_bytes() == HAND_CODE
    # Not canonical, so kept as the file it is (and shipped as it is), not as `config`.
    assert (folder / "config.json").read_bytes() == HAND_CONFIG
    (doc,) = [d for d in yaml.safe_load_all((out / "routes/functions.yaml").read_text()) if d["kind"] == "LambdaEdgeFunction"]
    assert "config" not in doc["spec"]
    rebuilt = build_package(folder, {})
    assert rebuilt.code_sha256 != code_sha256(deployed)
    assert rebuilt.content_digest == content_digest(deployed)


def test_a_hand_zipped_lambda_plans_no_changes(live: AwsTarget, aws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _publish_and_wire(aws, _hand_zip({"index.mjs": HAND_CODE, "config.json": HAND_CONFIG}))
    out = tmp_path / "adopted"
    run_import(ImportRequest(out=out, distribution_comments=(COMMENT,)), live)
    report = Reconciler(out / "routes", out, live).run_pass(dry_run=True)
    assert report.outcome is Outcome.NO_CHANGES, report.plan


def test_files_the_reconciler_never_packages_are_noted(live: AwsTarget, aws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deployed = _hand_zip({"index.mjs": HAND_CODE, "README.md": b"notes", "node_modules/x/i.js": b"1"})
    _publish_and_wire(aws, deployed)
    result = run_import(ImportRequest(out=tmp_path / "adopted", distribution_comments=(COMMENT,)), live)
    (note,) = [n for n in result.notes if n.startswith("lambda tenant-router")]
    assert "it does not ship README.md, node_modules/x/i.js" in note


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
    importer._compare_package("fn", 1, files, {}, _hand_zip(files), into)
    assert len(into.notes) == 1 and "cannot build a package" in into.notes[0], into.notes


def test_a_failed_download_does_not_show_the_presigned_signature() -> None:
    with pytest.raises(ImportError_) as failed:
        fetch_code("http://127.0.0.1:9/pkg.zip?X-Amz-Signature=s3cr3t")
    assert "s3cr3t" not in str(failed.value) and "X-Amz-Signature=***" in str(failed.value)


def test_imported_files_read_like_a_person_wrote_them(live: AwsTarget, tmp_path: Path) -> None:
    out = tmp_path / "adopted"
    imported_at = __import__("datetime").datetime(2026, 11, 30, 8, 15, 0)
    run_import(
        ImportRequest(out=out, tables=(TABLE,), inline_items_max=100, distribution_comments=(COMMENT,)),
        live,
        now=imported_at,
    )
    tables = (out / "routes/tables.yaml").read_text()
    lines = tables.splitlines()
    # The schema line editors read (and the schema next to it), then where and when from.
    assert lines[0] == "# yaml-language-server: $schema=./route-document.schema.json"
    assert (out / "routes/route-document.schema.json").is_file()
    assert "at 2026-11-30T08:15:00Z from account 123456789012 (us-east-1)" in lines[1]
    assert "# From DynamoDB table tenant-routing-config-prod:" in tables
    assert "arn:aws:dynamodb:us-east-1:123456789012:table/tenant-routing-config-prod" in tables
    # Key schema and prune stated, though they hold the defaults; key attributes first.
    assert "  partitionKey: {name: tenantId, type: S}\n  sortKey: {name: accountId, type: S}\n  prune: false\n" in tables
    assert "  - {tenantId: acme, accountId: '1001', defaultBackend: acme-backend.example.com, tier: premium}" in tables
    stores = (out / "routes/stores.yaml").read_text()
    assert "  prune: false\n" in stores and "arn:aws:cloudfront::123456789012:key-value-store/" in stores
    assert "ETag " in stores
    functions = (out / "routes/functions.yaml").read_text()
    said = " ".join(line[2:] for line in functions.splitlines() if line.startswith("# "))
    assert "LIVE stage: arn:aws:cloudfront::123456789012:function/tier-router, ETag " in said
    assert "version 1: arn:aws:lambda:us-east-1:123456789012:function:tenant-router:1, CodeSha256 " in said
    assert "  handler: index.handler\n" in functions and "  timeout: 5\n" in functions
    distributions = (out / "routes/distributions.yaml").read_text()
    assert "# From distribution " in distributions and "ETag " in distributions
    # What a person reads is what the loader reads.
    assert CliRunner().invoke(main, ["validate", str(out / "routes")]).exit_code == 0


# -- the walkthrough made by hand in the console, adopted, then served ----------------------


def _console_zip(code: bytes) -> bytes:
    """What the Lambda console's editor uploads: index.mjs alone (no config.json), zipped
    with a real timestamp, deflate and the console's modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("index.mjs", date_time=(2025, 1, 16, 9, 41, 22))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o100444 << 16
        archive.writestr(info, code)
    return buffer.getvalue()


@pytest.fixture
def walkthrough_by_hand(seeded: AwsTarget, aws) -> AwsTarget:  # type: ignore[no-untyped-def]
    """The walkthrough's console steps with boto3, the seed's verbatim code included."""
    from tests.edge.seed_code import restored

    tier_code, tenant_code = restored()
    cf, kvs, ddb, lam = (aws.client(s) for s in ("cloudfront", "cloudfront-keyvaluestore", "dynamodb", "lambda"))
    store = cf.create_key_value_store(Name="tier-origins", Comment="tier to API")["KeyValueStore"]
    etag = kvs.describe_key_value_store(KvsARN=store["ARN"])["ETag"]
    for tier in ("basic", "standard", "premium"):
        etag = kvs.put_key(KvsARN=store["ARN"], Key=tier, Value=f"{tier}-api.example.com", IfMatch=etag)["ETag"]
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "tenantId", "KeyType": "HASH"}, {"AttributeName": "accountId", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("tenantId", "accountId")],
        BillingMode="PAY_PER_REQUEST",
    )
    for tenant, account, backend in (("acme", "1001", "acme-backend.example.com"), ("globex", "2001", "premium-api.example.com")):
        ddb.put_item(TableName=TABLE, Item={"tenantId": {"S": tenant}, "accountId": {"S": account}, "defaultBackend": {"S": backend}})
    created = cf.create_function(
        Name="tier-router",
        FunctionConfig={
            "Comment": "",
            "Runtime": "cloudfront-js-2.0",
            "KeyValueStoreAssociations": {"Quantity": 1, "Items": [{"KeyValueStoreARN": store["ARN"]}]},
        },
        FunctionCode=tier_code.encode(),
    )
    function_arn = cf.publish_function(Name="tier-router", IfMatch=created["ETag"])["FunctionSummary"]["FunctionMetadata"]["FunctionARN"]
    role = aws.client("iam").get_role(RoleName="tenant-router-edge")["Role"]["Arn"]
    lam.create_function(
        FunctionName="tenant-router",
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _console_zip(tenant_code.encode())},
        Timeout=5,
    )
    version = lam.publish_version(FunctionName="tenant-router")["FunctionArn"]
    managed = cf.list_origin_request_policies(Type="managed")["OriginRequestPolicyList"]["Items"]
    (all_but_host,) = [
        p["OriginRequestPolicy"]["Id"]
        for p in managed
        if p["OriginRequestPolicy"]["OriginRequestPolicyConfig"]["Name"] == "Managed-AllViewerExceptHostHeader"
    ]
    (summary,) = cf.list_distributions()["DistributionList"]["Items"]
    got = cf.get_distribution_config(Id=summary["Id"])
    config = got["DistributionConfig"]
    config["DefaultCacheBehavior"]["FunctionAssociations"] = {
        "Quantity": 1,
        "Items": [{"FunctionARN": function_arn, "EventType": "viewer-request"}],
    }
    (tenant,) = config["CacheBehaviors"]["Items"]
    tenant["OriginRequestPolicyId"] = all_but_host
    tenant["LambdaFunctionAssociations"] = {
        "Quantity": 1,
        "Items": [{"LambdaFunctionARN": version, "EventType": "origin-request", "IncludeBody": True}],
    }
    cf.update_distribution(Id=summary["Id"], IfMatch=got["ETag"], DistributionConfig=config)
    return seeded


def _adopt(target: AwsTarget, out: Path) -> None:
    code, output = _import(target, out, "--table", TABLE, "--distribution-comment", COMMENT)
    assert code == 0, output
    assert "note:" not in output, output


def test_a_console_built_walkthrough_is_adopted_and_served_by_its_own_code(
    walkthrough_by_hand: AwsTarget, tmp_path: Path
) -> None:
    from reconciler.edge import start_local_edge
    from tests.edge.seed_code import restored

    out = tmp_path / "adopted"
    _adopt(walkthrough_by_hand, out)
    tier_code, tenant_code = restored()
    assert (out / "edge_functions/tier-router/index.js").read_text() == tier_code
    assert (out / "edge_functions/tenant-router/index.mjs").read_text() == tenant_code
    assert sorted(p.name for p in (out / "edge_functions/tenant-router").iterdir()) == ["index.mjs"]
    # Step 2 of the guide: add test events (the walkthrough's requests), run them. No
    # package.json, no npm install: the runtime SDK comes with the reconciler.
    from tests.edge.seed_code import FIXTURE

    for name in ("tier-router", "tenant-router"):
        shutil.copytree(FIXTURE / "edge_functions" / name / "tests", out / "edge_functions" / name / "tests")
    tested = CliRunner().invoke(main, ["test-functions", "--root", str(out)])
    assert tested.exit_code == 0, tested.output
    assert tested.output.splitlines()[-1] == "6/6 tests passed, 0 static findings"

    # Nothing but the Lambda's bytes differs (the planner still compares CodeSha256).
    plan = Reconciler(out / "routes", out, walkthrough_by_hand).run_pass(dry_run=True).plan
    assert plan is not None
    assert {str(c.address) for c in plan.changes} <= {
        "lambda_function.tenant-router",
        "distribution_behavior.edge-routing-example['/tenant/*']",
    }, [str(c.address) for c in plan.changes]

    # The seed's verbatim code, as deployed by hand, through the local edge.
    assert walkthrough_by_hand.endpoint_url is not None
    with start_local_edge(walkthrough_by_hand.endpoint_url, 0, state_ttl=0) as edge:
        smoked = CliRunner().invoke(
            main,
            [
                "smoke",
                "--edge-url", edge.url,
                "--endpoint-url", walkthrough_by_hand.endpoint_url,
                "--routes-dir", str(out / "routes"),
                "--root", str(out),
            ],
        )
    assert smoked.exit_code == 0, smoked.output
    assert "from acme-backend.example.com Host acme-backend.example.com" in smoked.output
    assert smoked.output.splitlines()[-1].startswith("6/6 checks passed")


def test_a_console_built_walkthrough_plans_no_changes_after_import(
    walkthrough_by_hand: AwsTarget, tmp_path: Path
) -> None:
    out = tmp_path / "adopted"
    _adopt(walkthrough_by_hand, out)
    report = Reconciler(out / "routes", out, walkthrough_by_hand).run_pass(dry_run=True)
    assert report.outcome is Outcome.NO_CHANGES, [str(c.address) for c in report.plan.changes]  # type: ignore[union-attr]
