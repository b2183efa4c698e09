"""`itemsFrom` globs never walk through a symlinked directory (a link to / must stay cheap)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from reconciler.routes import RouteSetInvalid, load_route_set

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "routes", tmp_path / "routes")
    shutil.copytree(
        REPO / "edge_functions",
        tmp_path / "edge_functions",
        ignore=shutil.ignore_patterns("node_modules"),
    )
    return tmp_path


def _use_pattern(repo: Path, pattern: str) -> None:
    tenants = repo / "routes" / "tenants.yaml"
    tenants.write_text(tenants.read_text().replace("tenants/*.jsonl", pattern))


def test_recursive_glob_does_not_follow_a_link_to_root(repo: Path) -> None:
    (repo / "routes" / "tenants" / "root").symlink_to("/")
    _use_pattern(repo, "tenants/**/*.jsonl")
    started = time.monotonic()
    route_set = load_route_set(repo / "routes", repo)
    assert time.monotonic() - started < 5
    assert len(route_set.tables["tenant-routing-config-prod"].bulk_files) == 1


def test_a_pattern_through_a_linked_directory_matches_nothing(repo: Path) -> None:
    (repo / "routes" / "tenants" / "etc").symlink_to("/etc")
    _use_pattern(repo, "tenants/etc/*")
    with pytest.raises(RouteSetInvalid) as invalid:
        load_route_set(repo / "routes", repo)
    (error,) = invalid.value.errors
    assert error.code == "items-from-empty"  # one error, not one per file in /etc


def test_a_linked_file_outside_is_refused(repo: Path) -> None:
    (repo / "routes" / "tenants" / "passwd.jsonl").symlink_to("/etc/passwd")
    with pytest.raises(RouteSetInvalid) as invalid:
        load_route_set(repo / "routes", repo)
    assert [e.code for e in invalid.value.errors] == ["path-outside-root"]
