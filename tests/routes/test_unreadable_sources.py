"""A declared source that cannot be read is an error naming the file and the reason, never
"no items" (issue 14, item 2).

A dangling symlink matched by `itemsFrom` used to be skipped in silence: `validate`
exited 0, and with `prune: true` the next apply deleted the tenants that file declared.
These cases need real symlinks, pipes and permissions, so they are built on disk here
rather than stored in the corpus.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import validate
from tests.routes.helpers import POLICY, errors, load, write_repo

TABLE = """apiVersion: edge.routing/v1
kind: RoutingTable
metadata: {name: tenants}
spec:
  prune: true
  itemsFrom: [tenants/*.jsonl]
"""
ITEM = '{"tenantId": "%s", "accountId": "1", "defaultBackend": "a.example.com"}\n'
NOBODY = 65534


def _repo(root: Path) -> Path:
    return write_repo(
        root,
        {
            "routes/p.yaml": POLICY,
            "routes/t.yaml": TABLE,
            "routes/tenants/a.jsonl": ITEM % "a",
        },
    )


def _lines(root: Path) -> list[str]:
    from reconciler.routes import RouteSetInvalid

    try:
        load(root)
    except RouteSetInvalid as invalid:
        return [e.render() for e in invalid.errors]
    return []


MATCHED = "(matched by itemsFrom 'tenants/*.jsonl' at routes/t.yaml:6)"


def test_a_dangling_bulk_symlink_is_an_error_at_that_path(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "routes/tenants/b.jsonl").symlink_to("moved-away.jsonl")
    assert _lines(root) == [
        "routes/tenants/b.jsonl:1:1: bulk file cannot be read: dangling symlink: its target "
        f"'moved-away.jsonl' does not exist {MATCHED} [file-unreadable]"
    ]


def test_validate_exits_one_and_prints_file_and_reason(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "routes/tenants/b.jsonl").symlink_to("moved-away.jsonl")
    result = CliRunner().invoke(validate.command, [str(root / "routes")])
    assert result.exit_code == 1
    assert result.stdout.startswith("routes/tenants/b.jsonl:1:1: bulk file cannot be read:")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.symlink_to(p.name), "symlink loop (the link resolves back to itself)"),
        (lambda p: p.mkdir(), "is a folder, not a file"),
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a regular file"),
        (lambda p: p.symlink_to("sub"), "is a folder, not a file"),
    ],
    ids=["loop", "folder", "fifo", "link-to-folder"],
)
def test_every_unreadable_kind_of_match_is_named(tmp_path: Path, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    root = _repo(tmp_path)
    (root / "routes/tenants/sub").mkdir()
    (root / "routes/tenants/sub/x.jsonl").write_text(ITEM % "x")
    make(root / "routes/tenants/b.jsonl")
    started = time.monotonic()
    assert _lines(root) == [
        f"routes/tenants/b.jsonl:1:1: bulk file cannot be read: {reason} {MATCHED} [file-unreadable]"
    ]
    assert time.monotonic() - started < 5  # a pipe is never opened: nothing blocks


def test_an_empty_bulk_file_or_a_header_only_csv_declares_nothing(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "routes/tenants/b.jsonl").write_text("\n  \n")
    (root / "routes/t.yaml").write_text(
        TABLE.replace("[tenants/*.jsonl]", "[tenants/*.jsonl, tenants/*.csv]")
    )
    (root / "routes/tenants/c.csv").write_text("tenantId,accountId,defaultBackend\n")
    codes = errors(root)
    assert codes == ["routes/tenants/b.jsonl:1::bulk-empty", "routes/tenants/c.csv:1::bulk-empty"]


def test_a_glob_that_matched_files_and_now_matches_none_is_an_error(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert len(load(root).tables["tenants"].items) == 1
    (root / "routes/tenants/a.jsonl").unlink()  # prune is on: "no items" would delete all
    assert errors(root) == ["routes/t.yaml:6:spec.itemsFrom[0]:items-from-empty"]


def test_a_recursive_pattern_does_not_count_folders_as_matches(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "routes/tenants/eu").mkdir()
    (root / "routes/tenants/eu/e.jsonl").write_text(ITEM % "e")
    (root / "routes/t.yaml").write_text(TABLE.replace("tenants/*.jsonl", "tenants/**"))
    assert sorted(k[0] for k in load(root).tables["tenants"].items) == ["a", "e"]


def test_a_link_to_a_bulk_file_inside_the_routes_folder_is_read(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "routes/data").mkdir()
    (root / "routes/data/b.jsonl").write_text(ITEM % "b")
    (root / "routes/tenants/b.jsonl").symlink_to("../data/b.jsonl")
    assert sorted(k[0] for k in load(root).tables["tenants"].items) == ["a", "b"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda p: p.symlink_to("gone.yaml"),
            "dangling symlink: its target 'gone.yaml' does not exist",
        ),
        (lambda p: p.symlink_to(p.name), "symlink loop (the link resolves back to itself)"),
        (lambda p: os.mkfifo(p), "is a named pipe (FIFO), not a regular file"),
    ],
    ids=["dangling", "loop", "fifo"],
)
def test_an_unreadable_route_file_is_an_error(tmp_path: Path, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    root = _repo(tmp_path)
    make(root / "routes/more.yaml")
    assert _lines(root) == [
        f"routes/more.yaml:1:1: route file cannot be read: {reason} [file-unreadable]"
    ]


# -- permissions: root reads everything, so those cases run in a child without privileges


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder an unprivileged child can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="routes-perm-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(stat.S_IRWXU)
    shutil.rmtree(folder)


def _lines_without_privileges(root: Path) -> list[str]:
    if os.geteuid() != 0:
        return _lines(root)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write_end, json.dumps(_lines(root)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged child failed"
    lines: list[str] = json.loads(payload)
    return lines


def _world_readable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_permission_denied_on_a_bulk_file_and_on_a_folder(shared_tmp: Path) -> None:
    root = _repo(shared_tmp / "repo")
    (root / "routes/t.yaml").write_text(TABLE.replace("tenants/*.jsonl", "tenants/**/*.jsonl"))
    (root / "routes/tenants/b.jsonl").write_text(ITEM % "b")
    (root / "routes/tenants/eu").mkdir()
    (root / "routes/tenants/eu/e.jsonl").write_text(ITEM % "e")
    _world_readable(root)
    (root / "routes/tenants/b.jsonl").chmod(0)
    (root / "routes/tenants/eu").chmod(0)
    matched = "(matched by itemsFrom 'tenants/**/*.jsonl' at routes/t.yaml:6)"
    assert _lines_without_privileges(root) == [
        f"routes/tenants/b.jsonl:1:1: bulk file cannot be read: permission denied {matched} [file-unreadable]",
        "routes/tenants/eu:1:1: folder cannot be listed: permission denied [file-unreadable]",
    ]


def test_permission_denied_on_a_route_file(shared_tmp: Path) -> None:
    root = _repo(shared_tmp / "repo")
    _world_readable(root)
    (root / "routes/p.yaml").chmod(0)
    assert _lines_without_privileges(root) == [
        "routes/p.yaml:1:1: route file cannot be read: permission denied [file-unreadable]"
    ]


def test_a_dangling_bulk_file_deletes_nothing_in_a_real_pass(repo: Path, seeded) -> None:  # type: ignore[no-untyped-def]
    """The incident: a prune-enabled table whose bulk file became a dangling link. The pass
    is refused as invalid and the tenants stay in the (emulated) DynamoDB table."""
    from reconciler.aws.clients import make_client
    from reconciler.engine import Outcome, Reconciler

    reconciler = Reconciler(repo / "routes", repo, seeded)
    assert reconciler.run_pass(dry_run=False).outcome is Outcome.APPLIED
    table = make_client("dynamodb", seeded).scan(TableName="tenant-routing-config-prod")
    before = table["Count"]
    sample = repo / "routes/tenants/sample.jsonl"
    sample.unlink()
    sample.symlink_to("../../shared/sample.jsonl")  # e.g. a submodule not checked out
    report = reconciler.run_pass(dry_run=False)
    assert report.outcome is Outcome.INVALID
    assert report.errors[0].startswith("routes/tenants/sample.jsonl:1:1: bulk file cannot be read")
    after = make_client("dynamodb", seeded).scan(TableName="tenant-routing-config-prod")
    assert after["Count"] == before > 3
