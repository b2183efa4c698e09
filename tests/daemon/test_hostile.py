"""Hostile input through the running daemon: one `reconciler run --sandbox` subprocess on a
copy of routes/, fed one bad input after another.

For every input: the pass is INVALID with the file, line and field in /status, nothing
reaches AWS (the sandbox's call counts do not move: validation happens before any call),
the daemon stays healthy, and its memory stays bounded. At the end a valid edit recovers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon.test_e2e import REPO, DaemonProcess, copy_repo_layout, set_entry, wait_for
from tests.routes.corpus_cases import CORPUS, expected_errors

# A sample of the invalid-route corpus (tests/routes/corpus): syntax, schema, limits,
# references, policy, paths, YAML abuse. Routes-only cases: each replaces routes/ whole.
CORPUS_SAMPLE = (
    "01-yaml-syntax-unclosed-flow",
    "03-yaml-duplicate-key-entries",
    "09-unknown-field-suggestion",
    "15-kvs-value-scheme",
    "21-kvs-value-not-allowed",
    "27-policy-missing",
    "34-cff-source-parent-dir",
    "61-table-bulk-jsonl-syntax",
    "66-table-items-from-parent-dir",
    "71-yaml-tag-unsupported",
    "72-yaml-billion-laughs",
    "73-yaml-too-deep",
)
HUGE_BYTES = 50 * 1024 * 1024
RSS_BOUND_MB = 100  # over the baseline after the first pass
# file:line:col: then a message; what a person needs to find the error.
LOCATED = re.compile(r"^(routes|edge_functions)/[^:]+:\d+:\d+: \S")


@dataclass
class Hostile:
    daemon: DaemonProcess
    repo: Path
    routes: Path
    baseline_rss_mb: float
    peak_rss_mb: float = 0.0

    def calls(self) -> dict[str, dict[str, int]]:
        url = f"{self.daemon.sandbox_url}/_sandbox/calls"
        with urllib.request.urlopen(url, timeout=5) as response:
            calls: dict[str, dict[str, int]] = json.load(response)["calls"]
        return calls

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory now (VmRSS) or the high-water mark since start (VmHWM): the
        HWM also catches a spike inside a pass that is gone by the time we look."""
        status = Path(f"/proc/{self.daemon.proc.pid}/status").read_text()
        kb = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
        assert kb is not None
        return int(kb.group(1)) / 1024

    def expect_invalid(self, mutate: Callable[[], None], *expected: str) -> list[str]:
        """Apply `mutate`; wait for the INVALID pass naming every `expected` fragment."""
        d = self.daemon
        calls_before = self.calls()
        mutate()

        def reported() -> list[str] | None:
            status = d.status()
            last = status["lastPass"] or {}
            errors: list[str] = last.get("errors", [])
            if (
                status["running"] is None
                and last.get("outcome") == "invalid"
                and all(any(fragment in e for e in errors) for fragment in expected)
            ):
                return errors
            return None

        errors: list[str] = wait_for(reported, 30, f"INVALID naming {expected}")
        assert all(LOCATED.match(e) for e in errors), errors
        assert d.condition("Stalled")["reason"] == "InvalidRouteFiles"
        assert self.calls() == calls_before, "an invalid set touched AWS"
        assert d.get("/healthz") == (200, "ok\n")
        self.peak_rss_mb = self.rss_mb("VmHWM")
        assert self.peak_rss_mb < self.baseline_rss_mb + RSS_BOUND_MB, (
            self.peak_rss_mb,
            self.baseline_rss_mb,
        )
        return errors

    def restore(self) -> None:
        """Back to the repository's valid routes and edge functions, and the valid pass
        that triggers awaited: otherwise the next case's call count could be read while
        that pass is still observing AWS."""
        for entry in self.routes.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        shutil.copytree(REPO / "routes", self.routes, dirs_exist_ok=True)
        tier_router = self.repo / "edge_functions" / "tier_router"
        shutil.copy2(REPO / "edge_functions" / "tier_router" / "index.js", tier_router)
        (tier_router / "evil.js").unlink(missing_ok=True)
        time.sleep(0.5)  # > the daemon's debounce: the pass this triggers has started
        wait_for(self.daemon.idle, 30, "the restored routes' pass")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    tmp = tmp_path_factory.mktemp("hostile")
    routes = copy_repo_layout(tmp / "repo")
    d = DaemonProcess(
        tmp, "--routes-dir", str(routes), "--resync-interval", "1h", "--backoff-max", "2s"
    )
    try:
        wait_for(lambda: d.status()["lastSuccessTime"], 90, "the first converged pass")
        h = Hostile(d, tmp / "repo", routes, baseline_rss_mb=0.0)
        h.baseline_rss_mb = h.rss_mb("VmHWM")  # the first pass's peak included
        yield h
    finally:
        d.kill()


def test_corpus_sample_is_reported_exactly_and_never_applied(hostile: Hostile) -> None:
    for name in CORPUS_SAMPLE:
        case = CORPUS / name
        assert sorted(p.name for p in case.iterdir()) == ["expected.txt", "routes"], name
        expected = expected_errors(case)

        def swap_in(case: Path = case) -> None:
            for entry in hostile.routes.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            shutil.copytree(case / "routes", hostile.routes, dirs_exist_ok=True)

        errors = hostile.expect_invalid(swap_in, *expected)
        assert sorted(errors) == sorted(expected), name
        hostile.restore()


def test_bombs_huge_files_garbage_escapes_and_policy(hostile: Hostile, tmp_path: Path) -> None:
    routes, repo = hostile.routes, hostile.repo
    tiers = routes / "tiers.yaml"
    good_tiers = tiers.read_text()
    source = "source: edge_functions/tier_router/index.js"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tenants.jsonl").write_text(
        '{"tenantId": "x", "accountId": "1", "defaultBackend": "x.example.com"}\n'
    )

    def add(name: str, data: bytes) -> Callable[[], None]:
        return lambda: (routes / name).write_bytes(data)

    laughs = (CORPUS / "72-yaml-billion-laughs" / "routes" / "a.yaml").read_bytes()
    cases: list[tuple[str, Callable[[], None], tuple[str, ...]]] = [
        ("billion laughs next to valid files", add("bomb.yaml", laughs),
         ("routes/bomb.yaml:6:8:", "[yaml-alias-expansion]")),
        ("a 50 MB YAML file", add("huge.yaml", b"a: " + b"x" * HUGE_BYTES + b"\n"),
         ("routes/huge.yaml:1:1:", "[yaml-too-large]")),
        # Starts with a byte that is never UTF-8: the error is positioned at the first bad byte.
        ("binary garbage", add("garbage.yaml", b"\xff" + os.urandom(1024 * 1024)),
         ("routes/garbage.yaml:1:1:", "not valid UTF-8")),
        ("function source with ..", lambda: tiers.write_text(
            good_tiers.replace(source, "source: ../../../../etc/passwd")),
         ("routes/tiers.yaml:22:3: spec.source:", "[path-outside-root]")),
        ("function source symlinked outside", lambda: (
            (repo / "edge_functions" / "tier_router" / "evil.js").symlink_to("/etc/passwd"),
            tiers.write_text(good_tiers.replace(source, source.replace("index", "evil"))),
        ), ("routes/tiers.yaml:22:3: spec.source:", "outside the repository (symlink?)")),
        ("bulk items symlinked outside", lambda: (
            routes / "tenants" / "leak.jsonl").symlink_to(outside / "tenants.jsonl"),
         ("routes/tenants.yaml:13:7: spec.itemsFrom[0]:", "outside the routes folder")),
        ("origin outside the allow-list", lambda: tiers.write_text(
            good_tiers.replace("premium-api.example.com", "premium-api.evil.net")),
         ("routes/tiers.yaml:15:5: spec.entries.premium:", "[origin-not-allowed]")),
        ("CloudFront Function over 10 KB", lambda: (
            repo / "edge_functions" / "tier_router" / "index.js").open("a").write(
                "// padding\n" * 1000),
         ("routes/tiers.yaml:22:3: spec.source:", "[function-too-large]")),
        ("a 50 MB CloudFront Function", lambda: (
            repo / "edge_functions" / "tier_router" / "index.js").write_bytes(
                b"//" + b"x" * HUGE_BYTES),
         ("routes/tiers.yaml:22:3: spec.source:", "[function-too-large]")),
    ]  # fmt: skip
    figures = []
    for what, mutate, expected in cases:
        hostile.expect_invalid(mutate, *expected)
        figures.append(f"{what}: RSS {hostile.rss_mb():.0f} MB")
        hostile.restore()
    print(
        f"\nRSS high-water mark after the first pass {hostile.baseline_rss_mb:.0f} MB, "
        f"after the hostile inputs {hostile.peak_rss_mb:.0f} MB "
        f"(bound +{RSS_BOUND_MB} MB)\n  " + "\n  ".join(figures)
    )


def test_a_valid_edit_recovers(hostile: Hostile) -> None:
    d = hostile.daemon
    hostile.restore()
    set_entry(hostile.routes, "premium", "premium-recovered.example.com")
    wait_for(lambda: d.kvs_value("premium") == "premium-recovered.example.com", 20, "recovery")
    wait_for(lambda: d.condition("Ready")["status"] == "True", 10, "Ready")
    assert d.get("/readyz")[0] == 200
    assert d.get("/healthz") == (200, "ok\n")
    assert d.status()["lastPass"]["outcome"] == "applied"
    assert d.proc.poll() is None
