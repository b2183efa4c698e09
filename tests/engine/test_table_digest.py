"""A table's container digest comes from the loader (the document as parsed and its bulk
files' bytes), not from its items (issue 18). It feeds the drift ledger and the
observation cache: a digest that stayed while an item changed would hide the change, one
that moved with no change would call drift new input. Each case below would fail if the
digest rule broke; the random version is tests/routes/test_incremental_loading.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.core.model import ResourceKind
from reconciler.engine.desired import DesiredState, container_key, desired_state
from reconciler.routes import RouteSetLoader, load_route_set
from tests.support.routes import tenants, write_policy, write_store, write_table

KEY = container_key(ResourceKind.TABLE, "tenants")
Edit = Callable[[Path], None]


def _repo(root: Path) -> Path:
    routes = root / "routes"
    write_policy(routes)
    write_store(routes, "tiers", {"basic": "basic.example.com"})
    write_table(routes, "tenants", tenants(50))
    return routes


def _bulk(routes: Path) -> Path:
    return routes / "tenants-items" / "items.jsonl"


def _table_yaml(routes: Path) -> Path:
    return routes / "table-tenants.yaml"


def _replace_line(routes: Path, index: int, old: bytes, new: bytes) -> None:
    path = _bulk(routes)
    lines = path.read_bytes().split(b"\n")
    assert old in lines[index]
    lines[index] = lines[index].replace(old, new)
    path.write_bytes(b"\n".join(lines))


def _value_edit(routes: Path) -> None:
    _replace_line(routes, 17, b"b3.example.com", b"moved.example.com")


def _same_size_same_mtime(routes: Path) -> None:
    """Other bytes, same length, same inode, same modification time."""
    path = _bulk(routes)
    before = path.stat()
    data = path.read_bytes().replace(b"b3.example.com", b"b4.example.com", 1)
    with path.open("r+b") as handle:
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )


def _line_added(routes: Path) -> None:
    with _bulk(routes).open("ab") as out:
        out.write(b'{"tenantId": "new", "accountId": "1", "defaultBackend": "n.example.com"}\n')


def _line_removed(routes: Path) -> None:
    path = _bulk(routes)
    lines = path.read_bytes().split(b"\n")
    del lines[3]
    path.write_bytes(b"\n".join(lines))


def _second_bulk_file(routes: Path) -> None:
    (routes / "tenants-items" / "more.jsonl").write_text(
        '{"tenantId": "more", "accountId": "1", "defaultBackend": "m.example.com"}\n'
    )


def _inline_item(routes: Path) -> None:
    path = _table_yaml(routes)
    path.write_text(
        path.read_text()
        + '  items:\n    - {tenantId: inline, accountId: "1", defaultBackend: i.example.com}\n'
    )


def _prune_off(routes: Path) -> None:
    path = _table_yaml(routes)
    path.write_text(path.read_text().replace("prune: true", "prune: false"))


def _touched(routes: Path) -> None:
    os.utime(_bulk(routes))
    os.utime(_table_yaml(routes))


def _rewritten(routes: Path) -> None:
    for path in (_bulk(routes), _table_yaml(routes)):
        path.write_bytes(path.read_bytes())


def _store_edited(routes: Path) -> None:
    write_store(routes, "tiers", {"basic": "elsewhere.example.com"})


def _policy_edited(routes: Path) -> None:
    # The items are checked again (the patterns changed) but are the same items.
    write_policy(routes, patterns=("*.example.com", "*.example.org"))


def _digests(loader: RouteSetLoader, routes: Path) -> tuple[DesiredState, str]:
    desired = desired_state(loader.load())
    fresh = desired_state(load_route_set(routes, routes.parent))
    # What a restarted engine computes (the ledger keeps digests across restarts).
    assert fresh.container_digests == desired.container_digests
    assert fresh.data == desired.data
    return desired, desired.container_digests[KEY]


@pytest.mark.parametrize(
    "edit",
    [
        _value_edit,
        _same_size_same_mtime,
        _line_added,
        _line_removed,
        _second_bulk_file,
        _inline_item,
        _prune_off,
    ],
)
def test_the_digest_moves_when_the_table_does(tmp_path: Path, edit: Edit) -> None:
    routes = _repo(tmp_path)
    loader = RouteSetLoader(routes, tmp_path)
    before, digest = _digests(loader, routes)
    edit(routes)
    after, moved = _digests(loader, routes)
    (old,), (new,) = before.data.tables, after.data.tables
    assert (old.prune, dict(old.items)) != (new.prune, dict(new.items))
    assert moved != digest


@pytest.mark.parametrize("edit", [_touched, _rewritten, _store_edited, _policy_edited])
def test_the_digest_stays_when_no_byte_of_the_table_changes(tmp_path: Path, edit: Edit) -> None:
    routes = _repo(tmp_path)
    loader = RouteSetLoader(routes, tmp_path)
    before, digest = _digests(loader, routes)
    edit(routes)
    after, kept = _digests(loader, routes)
    assert kept == digest
    if edit is not _policy_edited:  # ... and the table's values are not even rebuilt
        assert after.data.tables[0].items is before.data.tables[0].items


def test_a_variable_in_the_table_document_is_part_of_its_digest(tmp_path: Path) -> None:
    routes = _repo(tmp_path)
    _table_yaml(routes).write_text(
        _table_yaml(routes).read_text()
        + '  items:\n    - {tenantId: v, accountId: "1", defaultBackend: "${BACKEND}"}\n'
    )
    environ = {"RECONCILER_VAR_BACKEND": "one.example.com"}
    loader = RouteSetLoader(routes, tmp_path, environ=environ)
    first = desired_state(loader.load()).container_digests[KEY]
    environ["RECONCILER_VAR_BACKEND"] = "two.example.com"
    second = desired_state(loader.load())
    assert second.container_digests[KEY] != first
    fresh = desired_state(load_route_set(routes, tmp_path, environ=environ))
    assert fresh.container_digests == second.container_digests
    assert fresh.data == second.data


def test_an_edit_converts_only_the_edited_item_and_keeps_the_order(tmp_path: Path) -> None:
    routes = _repo(tmp_path)
    loader = RouteSetLoader(routes, tmp_path)
    (before,) = desired_state(loader.load()).data.tables
    _value_edit(routes)
    (after,) = desired_state(loader.load()).data.tables
    (fresh,) = desired_state(load_route_set(routes, tmp_path)).data.tables
    assert list(after.items.items()) == list(fresh.items.items())
    kept = [k for k in after.items if after.items[k] is before.items[k]]
    assert len(kept) == len(after.items) - 1  # the other 49 wire items are last pass's
    (edited,) = [k for k in after.items if k not in kept]
    assert after.items[edited]["defaultBackend"] == {"S": "moved.example.com"}


def test_reordered_lines_move_the_digest_not_the_items(tmp_path: Path) -> None:
    """The digest follows the bytes (docs/route-files.md): a reordered bulk file is a new
    declaration of the same items."""
    routes = _repo(tmp_path)
    loader = RouteSetLoader(routes, tmp_path)
    before, digest = _digests(loader, routes)
    path = _bulk(routes)
    lines = path.read_bytes().split(b"\n")
    lines[2], lines[9] = lines[9], lines[2]
    path.write_bytes(b"\n".join(lines))
    after, moved = _digests(loader, routes)
    assert dict(after.data.tables[0].items) == dict(before.data.tables[0].items)
    assert moved != digest
