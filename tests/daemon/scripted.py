"""Scripted runners: stand-ins for the engine's run_pass in scheduler tests.

They obey the runner contract (one call = one whole pass, returns a PassReport; the bool
is dry_run; `confirm` is asked before the first write) and record every call, so the tests
can see what the scheduler decided. The engine itself is tested against the sandbox.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.aws.errors import ErrorClass
from reconciler.core.model import Action, Address, Change, Phase, Plan, ResourceKind
from reconciler.engine.report import Drift, Outcome, PassReport


def changes(n: int) -> tuple[Change, ...]:
    return tuple(
        Change(
            Address(ResourceKind.KVS_ENTRY, "tier-origins", f"k{i}"),
            Action.UPDATE,
            Phase.DATA,
            before="old",
            after="new",
        )
        for i in range(n)
    )


def report(
    outcome: Outcome,
    n_changes: int = 0,
    digest: str = "d1",
    *,
    drift: int = 0,
    corrected: bool = True,
    **kw: object,
) -> PassReport:
    """A PassReport as the engine makes one; `drift` of the changes are drift."""
    planned = changes(n_changes)
    plan = Plan(planned, desired_digest=digest) if outcome is not Outcome.INVALID else None
    applied = planned if outcome is Outcome.APPLIED else ()
    if outcome is Outcome.FAILED:
        kw.setdefault("error_class", ErrorClass.RETRYABLE)
    return PassReport(
        outcome=outcome,
        plan=plan,
        applied=applied,
        desired_digest=digest if outcome is not Outcome.INVALID else "",
        duration_seconds=0.001,
        drift=tuple(Drift(c, corrected) for c in planned[:drift]),
        **kw,  # type: ignore[arg-type]
    )


@dataclass
class Call:
    at: float
    dry_run: bool
    confirmed: bool | None = None  # what `confirm` answered, when given
    changed_only: bool = False




@dataclass
class ScriptedRunner:
    """Returns `script(call_index, dry_run)`; optionally holds each pass until `gate` opens."""

    script: Callable[[int, bool], PassReport] = lambda i, dry: report(
        Outcome.PLANNED if dry else Outcome.NO_CHANGES
    )
    gate: threading.Event | None = None
    calls: list[Call] = field(default_factory=list)
    in_pass: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self,
        dry_run: bool,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        changed_only: bool = False,
    ) -> PassReport:
        index = len(self.calls)
        call = Call(time.monotonic(), dry_run, changed_only=changed_only)
        self.calls.append(call)
        self.in_pass.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(10), "test never opened the gate"
            result = self.script(index, dry_run)
            if confirm is not None and result.plan is not None and not dry_run:
                call.confirmed = confirm(result.plan)
                if not call.confirmed:
                    return report(Outcome.PLANNED, len(result.plan.changes))
            return result
        finally:
            self.in_pass.clear()


def digest_of(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and ".git" not in p.parts):
        h.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class FileDigestRunner:
    """Reads the route files like a pass does and reports their digest; `seen` lists them."""

    routes_dir: Path
    pass_seconds: float = 0.0
    seen: list[str] = field(default_factory=list)

    def __call__(
        self,
        dry_run: bool,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        changed_only: bool = False,
    ) -> PassReport:
        digest = digest_of(self.routes_dir) if self.routes_dir.is_dir() else ""
        if self.pass_seconds:
            time.sleep(self.pass_seconds)  # stands in for the AWS round trips of a pass
        self.seen.append(digest)
        return report(Outcome.PLANNED if dry_run else Outcome.NO_CHANGES, digest=digest)
