"""A long-lived RouteSetLoader gives exactly what a fresh load gives (issue 18).

Random sequences of edits to route files and bulk files (a line changed, added, removed,
swapped; errors brought in and fixed; a file touched without a change; a file replaced
by different bytes of the same size under the same modification time; bulk files
appearing and going; the store, the table document and a variable changed). After every
edit the incremental loader's result (documents, items and their order, where each item
was declared, errors, content hash) and the desired state built on it (values, order,
container digests) equal those of a fresh load_route_set + desired_state. Between two
valid states, a table's digest moves whenever its items do, and stays when no byte did.

INCREMENTAL_LOADING_EXAMPLES=300 runs it longer (default 40).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.model import ResourceKind
from reconciler.engine import desired as desired_module
from reconciler.engine.desired import DesiredState, container_key, desired_state
from reconciler.routes import RouteSet, RouteSetInvalid, RouteSetLoader, load_route_set

EXAMPLES = int(os.environ.get("INCREMENTAL_LOADING_EXAMPLES", "40"))
TABLE_KEY = container_key(ResourceKind.TABLE, "tenants")
POLICY = """apiVersion: edge.routing/v1
kind: ReconcilerPolicy
metadata: {name: policy}
spec:
  allowedOriginPatterns: ["*.example.com"]
"""
BULK = ("a.jsonl", "b.jsonl", "c.csv")
KINDS = ("valid", "valid", "valid", "blank", "json", "origin", "key", "attr", "utf8", "copy")


def _line(kind: str, n: int, other: bytes) -> bytes:
    """One JSONL line of the given kind (`other`: a line of the file, for "copy")."""
    item = {
        "tenantId": f"t{n % 12}",
        "accountId": str(1000 + n % 2),
        "defaultBackend": f"b{n % 5}.example.com",
    }
    if kind == "blank":
        return b"   "
    if kind == "json":
        return b'{"tenantId": "t1", "accountId": '
    if kind == "origin":
        item["defaultBackend"] = "http://nope"
    if kind == "key":
        del item["accountId"]
    if kind == "attr":
        return b'{"tenantId": "t3", "tenantId": "t4", "accountId": "1", "defaultBackend": "x.example.com"}'
    if kind == "utf8":
        return b'{"tenantId": "t\xff", "accountId": "1", "defaultBackend": "x.example.com"}'
    if kind == "copy":
        return other
    return json.dumps(item).encode()


def _csv_row(kind: str, n: int, other: bytes) -> bytes:
    if kind in ("blank", "copy"):
        return b"" if kind == "blank" else other
    if kind == "json":
        return b'"t1,1000'  # an unterminated quote
    backend = "http://nope" if kind == "origin" else f"c{n % 4}.example.com"
    account = "" if kind == "key" else str(1000 + n % 2)
    if kind == "attr":
        return b"t1,1000"  # too few cells
    if kind == "utf8":
        return b"t\xfe,1000,x.example.com"
    return f"t{n % 12},{account},{backend}".encode()


class Repo:
    """The route files, as values, written to disk on every change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.routes = root / "routes"
        (self.routes / "tenants").mkdir(parents=True)
        (self.routes / "policy.yaml").write_text(POLICY)
        self.bulk: dict[str, list[bytes]] = {
            "a.jsonl": [_line("valid", n, b"") for n in range(6)],
        }
        self.trailing_newline = True
        self.store = {"basic": "basic.example.com", "premium": "premium.example.com"}
        self.prune = True
        self.inline: list[int] = [20]
        self.environ: dict[str, str] = {}
        self.write_all()

    # -- files -----------------------------------------------------------------------

    def bulk_bytes(self, name: str) -> bytes:
        lines = self.bulk[name]
        if name.endswith(".csv"):
            lines = [b"tenantId,accountId,defaultBackend", *lines]
        tail = b"\n" if self.trailing_newline else b""
        return b"\n".join(lines) + tail

    def write_bulk(self, name: str) -> None:
        path = self.routes / "tenants" / name
        if name in self.bulk:
            path.write_bytes(self.bulk_bytes(name))
        elif path.exists():
            path.unlink()

    def write_documents(self) -> None:
        entries = "".join(f"    {k}: {v}\n" for k, v in self.store.items())
        (self.routes / "store.yaml").write_text(
            "apiVersion: edge.routing/v1\nkind: KeyValueStore\nmetadata: {name: tiers}\n"
            f"spec:\n  prune: true\n  entries:\n{entries or '    {}'}\n"
        )
        inline = "".join(
            f'    - {{tenantId: t{n}, accountId: "1000", defaultBackend: i{n}.example.com}}\n'
            for n in self.inline
        )
        (self.routes / "table.yaml").write_text(
            "apiVersion: edge.routing/v1\nkind: RoutingTable\nmetadata: {name: tenants}\n"
            "spec:\n  tableName: ${TABLE:=tenants}\n"
            "  partitionKey: {name: tenantId, type: S}\n"
            "  sortKey: {name: accountId, type: S}\n"
            "  originAttributes: [defaultBackend]\n"
            f"  prune: {str(self.prune).lower()}\n"
            '  itemsFrom: ["tenants/*"]\n' + (f"  items:\n{inline}" if inline else "")
        )

    def write_all(self) -> None:
        self.write_documents()
        for name in BULK:
            self.write_bulk(name)

    # -- loading ---------------------------------------------------------------------

    def fresh(self) -> RouteSet:
        return load_route_set(self.routes, self.root, environ=dict(self.environ))

    def apply(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind in ("set", "insert", "delete", "swap"):
            self._edit_lines(*op)
        elif kind == "file":
            name = BULK[op[1] % len(BULK)]
            if name in self.bulk and len(self.bulk) > 1:
                del self.bulk[name]
            elif name not in self.bulk:
                maker = _csv_row if name.endswith(".csv") else _line
                self.bulk[name] = [maker("valid", n + op[2], b"") for n in range(3)]
            self.write_bulk(name)
        elif kind == "touch":
            path = self._some_file(op[1])
            if op[2] % 2:
                os.utime(path)  # a new modification time, the same bytes
            else:
                path.write_bytes(path.read_bytes())  # rewritten in place, the same bytes
        elif kind == "same-stat":
            self._same_size_same_mtime(op[1], op[2])
        elif kind == "newline":
            self.trailing_newline = not self.trailing_newline
            for name in self.bulk:
                self.write_bulk(name)
        elif kind == "store":
            key = ["basic", "premium", "gold"][op[1] % 3]
            if op[2] % 3 == 0:
                self.store.pop(key, None)
            else:
                self.store[key] = f"{key}{op[2]}.example.com"
            self.write_documents()
        elif kind == "table":
            if op[1] % 2:
                self.prune = not self.prune
            else:
                self.inline = [] if self.inline else [op[2] % 14]
            self.write_documents()
        elif kind == "env":
            if op[1] % 2:
                self.environ.pop("RECONCILER_VAR_TABLE", None)
            else:
                self.environ["RECONCILER_VAR_TABLE"] = f"tenants-{op[2] % 3}"

    def _edit_lines(self, kind: str, file: int, index: int, line: str, n: int) -> None:
        names = sorted(self.bulk)
        name = names[file % len(names)]
        lines = self.bulk[name]
        maker = _csv_row if name.endswith(".csv") else _line
        other = lines[n % len(lines)] if lines else b""
        at = (
            index % (len(lines) + (1 if kind == "insert" else 0))
            if lines or kind == "insert"
            else 0
        )
        if kind == "set" and lines:
            lines[at] = maker(line, n, other)
        elif kind == "insert":
            lines.insert(at, maker(line, n, other))
        elif kind == "delete" and lines:
            del lines[at]
        elif kind == "swap" and lines:
            other_at = n % len(lines)
            lines[at], lines[other_at] = lines[other_at], lines[at]
        self.write_bulk(name)

    def _some_file(self, n: int) -> Path:
        files = [self.routes / "tenants" / name for name in sorted(self.bulk)]
        files += [self.routes / "store.yaml", self.routes / "table.yaml"]
        return files[n % len(files)]

    def _same_size_same_mtime(self, file: int, n: int) -> None:
        """Different bytes, same length, same inode, same modification time: what an
        editor saving twice within the file system's clock tick looks like."""
        names = sorted(self.bulk)
        name = names[file % len(names)]
        lines = self.bulk[name]
        changed = False
        for at, line in enumerate(lines):
            if b".example.com" in line and line[:1] in (b"{", b"t"):
                for old, new in ((b"b", b"d"), (b"c", b"e"), (b"d", b"b"), (b"e", b"c")):
                    head = (b'"defaultBackend": "' + old) if line[:1] == b"{" else (b"," + old)
                    if head in line:
                        lines[at] = line.replace(head, head[:-1] + new, 1)
                        changed = True
                        break
            if changed and at >= n % max(len(lines), 1):
                break
        path = self.routes / "tenants" / name
        before = path.stat()
        with path.open("r+b") as handle:  # in place: the inode stays
            handle.write(self.bulk_bytes(name))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = path.stat()
        assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
            before.st_size,
            before.st_mtime_ns,
            before.st_ino,
        )


def _outcome(load: Callable[[], RouteSet]) -> tuple[RouteSet | None, list[Any]]:
    try:
        return load(), []
    except RouteSetInvalid as invalid:
        return None, invalid.errors


def _same_desired(incremental: DesiredState, fresh: DesiredState) -> None:
    assert incremental.data == fresh.data
    assert incremental.container_digests == fresh.container_digests
    for mine, theirs in zip(incremental.data.tables, fresh.data.tables, strict=True):
        assert list(mine.items.items()) == list(theirs.items.items())  # order too


def _same_route_set(incremental: RouteSet, fresh: RouteSet) -> None:
    assert incremental == fresh
    assert incremental.content_hash == fresh.content_hash
    for name, table in fresh.tables.items():
        mine = incremental.tables[name]
        assert list(mine.items.items()) == list(table.items.items())  # order too
        assert dict(mine.item_sources) == dict(table.item_sources)
        assert mine.declaration_digest == table.declaration_digest


line_kind = st.sampled_from(KINDS)
small = st.integers(0, 40)
edits = st.one_of(
    st.tuples(st.sampled_from(["set", "insert", "delete", "swap"]), small, small, line_kind, small),
    st.tuples(
        st.sampled_from(["file", "touch", "same-stat", "store", "table", "env"]), small, small
    ),
    st.tuples(st.just("newline")),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(edits, min_size=1, max_size=10), slack=st.sampled_from([0, 64]))
def test_incremental_loads_equal_fresh_loads(steps: list[tuple[Any, ...]], slack: int) -> None:
    # slack 0: added or removed items are matched by key (the path for big moves)
    with tempfile.TemporaryDirectory() as tmp, patch.object(desired_module, "SPLICE_SLACK", slack):
        repo = Repo(Path(tmp))
        loader = RouteSetLoader(repo.routes, repo.root, environ=repo.environ)
        previous: tuple[bytes, DesiredState] | None = None
        for step in [("touch", 0, 0), *steps]:
            repo.apply(step)
            mine, my_errors = _outcome(loader.load)
            fresh, fresh_errors = _outcome(repo.fresh)
            assert my_errors == fresh_errors
            if fresh is None:
                assert mine is None
                continue
            assert mine is not None
            _same_route_set(mine, fresh)
            desired, fresh_desired = desired_state(mine), desired_state(fresh)
            _same_desired(desired, fresh_desired)
            snapshot = _snapshot(repo)
            if previous is not None:
                _digest_rule(previous, (snapshot, fresh_desired))
            previous = (snapshot, fresh_desired)


def _snapshot(repo: Repo) -> bytes:
    """Every input byte (and the variables): equal snapshots, equal declarations."""
    parts = [json.dumps(sorted(repo.environ.items())).encode()]
    for path in sorted(repo.routes.rglob("*")):
        if path.is_file():
            parts += [str(path.relative_to(repo.routes)).encode(), path.read_bytes()]
    return b"\0".join(parts)


def _digest_rule(before: tuple[bytes, DesiredState], after: tuple[bytes, DesiredState]) -> None:
    (old_bytes, old), (new_bytes, new) = before, after
    old_digest = old.container_digests.get(TABLE_KEY)
    new_digest = new.container_digests.get(TABLE_KEY)
    if old_digest is None or new_digest is None:
        return  # the table was renamed (a variable): another container
    (old_table,), (new_table,) = old.data.tables, new.data.tables
    declared = (old_table.key_schema, old_table.prune, dict(old_table.items))
    if declared != (new_table.key_schema, new_table.prune, dict(new_table.items)):
        assert old_digest != new_digest, "the table changed but its digest did not"
    if old_bytes == new_bytes:
        assert old_digest == new_digest, "nothing changed but the digest did"


def test_a_routes_folder_behind_a_moving_symlink_is_followed(tmp_path: Path) -> None:
    """git-sync style: the repository is a symlink swapped to a new checkout. The
    loader resolves the path on every load, and what it kept for equal bytes serves."""
    checkouts = [Repo(tmp_path / name) for name in ("one", "two")]
    checkouts[1].bulk["a.jsonl"][2] = _line("valid", 33, b"")
    checkouts[1].write_bulk("a.jsonl")
    link = tmp_path / "current"
    link.symlink_to(checkouts[0].root)
    loader = RouteSetLoader(link / "routes", link)
    first = loader.load()
    assert first == load_route_set(checkouts[0].routes, checkouts[0].root)
    swap = tmp_path / "swap"
    swap.symlink_to(checkouts[1].root)
    swap.replace(link)  # atomic, as git-sync does
    second = loader.load()
    assert second.root == checkouts[1].root
    assert second == load_route_set(checkouts[1].routes, checkouts[1].root)
    assert second.content_hash != first.content_hash


class _Counting:
    """Counts the calls of a module function while patched in."""

    def __init__(self, module: Any, name: str) -> None:
        self.calls = 0
        self.original = getattr(module, name)
        self.patch = patch.object(module, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.original(*args, **kwargs)


def test_what_a_load_does_again_after_an_edit(tmp_path: Path) -> None:
    """The documented costs (docs/route-files.md, Loading again), counted: unchanged
    files are hashed, not read whole, parsed or checked; in a changed JSONL file only the
    new line is checked (and the file is read in chunks); in a changed CSV file only the
    new record; a changed YAML file is parsed again, alone."""
    from reconciler.routes import bulk_reading, file_results, source_files

    repo = Repo(tmp_path)
    repo.bulk["c.csv"] = [_csv_row("valid", n, b"") for n in range(6, 10)]
    repo.write_bulk("c.csv")
    loader = RouteSetLoader(repo.routes, repo.root)
    loader.load()
    counters = [
        _Counting(source_files, "read_source"),
        _Counting(file_results, "read_yaml_documents"),
        _Counting(bulk_reading, "check_item"),
    ]

    def load() -> tuple[int, ...]:
        before = [c.calls for c in counters]
        with counters[0].patch, counters[1].patch, counters[2].patch:
            route_set = loader.load()
        assert route_set == repo.fresh()
        return tuple(c.calls - b for c, b in zip(counters, before, strict=True))

    # (files read whole, YAML files parsed, bulk lines checked)
    assert load() == (0, 0, 0)
    os.utime(repo.routes / "store.yaml")
    assert load() == (0, 0, 0)  # touched: the same bytes
    repo.bulk["a.jsonl"][3] = _line("valid", 11, b"")
    repo.write_bulk("a.jsonl")
    assert load() == (0, 0, 1)
    repo.bulk["c.csv"].append(_csv_row("valid", 10, b""))
    repo.write_bulk("c.csv")
    assert load() == (1, 0, 1)
    repo.store["gold"] = "gold.example.com"
    repo.write_documents()  # both YAML files rewritten; only the store's bytes differ
    assert load() == (1, 1, 0)
