"""/status as a person reads it at a terminal (`reconciler status`). Rendering only: the
JSON (`status --json`) is the contract, this is a view of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

PLAN_LINES = 20


def _ago(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    seconds = (datetime.now(UTC) - then).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _revision(rev: dict[str, Any] | None) -> str:
    if not rev:
        return "-"
    text = str(rev.get("revision") or rev.get("sha", ""))[:18]
    subject = rev.get("subject")
    return f"{text} {subject!r}" if subject else text


def render_status(body: dict[str, Any], url: str) -> str:
    lines = [f"daemon      {url}"]
    mode = body.get("mode") or {}
    flags = ["dry-run" if mode.get("dryRun") else "apply"]
    flags.append("self-heal on" if mode.get("selfHeal") else "self-heal off")
    if body.get("suspended"):
        flags.append("SUSPENDED")
    if "leader" in body:
        flags.append("leader" if body["leader"] else "follower (standby)")
    lines.append("mode        " + ", ".join(flags))
    lines.append("")
    for c in body.get("conditions", []):
        message = f"  {c['message']}" if c.get("message") else ""
        since = _ago(c.get("lastTransitionTime"))
        lines.append(
            f"{c['type']:<12}{c['status']:<8}{c['reason']:<22}{message}"
            + (f"  (since {since})" if since else "")
        )
    lines.append("")
    lines.append(f"attempted   {_revision(body.get('lastAttemptedRevision'))}")
    lines.append(f"applied     {_revision(body.get('lastAppliedRevision'))}")
    git = body.get("gitSource")
    if git:
        error = f"  last error: {git['lastError']}" if git.get("lastError") else ""
        lines.append(f"git source  {git.get('branch')} @ {_revision(git.get('revision'))}{error}")
    running = body.get("running")
    if running:
        lines.append(
            f"running     pass #{running.get('pass')} ({running.get('trigger')}) "
            f"since {_ago(running.get('startedTime'))}"
        )
    last = body.get("lastPass")
    if last:
        lines.append(f"last pass   {_pass_line(last)}")
    plan = body.get("lastPlan")
    if plan:
        actions = ", ".join(f"{k} {v}" for k, v in (plan.get("byAction") or {}).items())
        lines.append(f"last plan   {plan.get('changes', 0)} changes" + (f" ({actions})" if actions else ""))
        for item in (plan.get("items") or [])[:PLAN_LINES]:
            lines.append(f"              {item}")
        more = int(plan.get("changes", 0)) - min(len(plan.get("items") or []), PLAN_LINES)
        if more > 0:
            lines.append(f"              ... and {more} more (status --json)")
        for problem in (plan.get("violations") or []) + (plan.get("errors") or []):
            lines.append(f"              refused: {problem}")
    last_error: dict[str, Any] | None = body.get("lastError")
    if last_error:
        lines.append(
            f"last error  {last_error.get('outcome')} {last_error.get('reason') or ''} "
            f"({last_error.get('errorClass') or '-'}) {_ago(last_error.get('time'))}"
        )
        for text in (last_error.get("errors") or [])[:5]:
            lines.append(f"              {text}")
    drift = body.get("drift") or {}
    if drift.get("lastDetectedTime"):
        state = "DETECTED, not undone" if drift.get("detected") else "corrected"
        lines.append(f"drift       {state}, last {_ago(drift['lastDetectedTime'])}")
        for item in (drift.get("items") or [])[:5]:
            after = item.get("restored", item.get("declared"))
            lines.append(f"              {item['address']}: found {item['found']!r}, declared {after!r}")
    else:
        lines.append("drift       none seen")
    rejection = body.get("lastRejection")
    if rejection:
        for r in rejection.get("rejected", []):
            lines.append(f"rejected    {r['function']} ({r['code']}) {_ago(rejection.get('time'))}")
            for problem in r.get("problems", [])[:5]:
                lines.append(f"              {problem}")
    for dist_id, dist in sorted((body.get("distributions") or {}).items()):
        lines.append(f"distribution {dist_id}: {dist.get('status')} (seen {_ago(dist.get('observedTime'))})")
    retry = body.get("retry")
    if retry:
        lines.append(
            f"retry       #{retry.get('failures')} {_ago(retry.get('nextAttemptTime'))}"
        )
    if body.get("nextResyncTime"):
        lines.append(f"next resync {_ago(body['nextResyncTime'])}")
    return "\n".join(lines)


def _pass_line(last: dict[str, Any]) -> str:
    revision = str(last.get("revision") or "-")[:18]
    return (
        f"#{last.get('number', '?')} {last.get('outcome')} ({last.get('trigger')}) at {revision}, "
        f"{last.get('applied', 0)} applied, {last.get('writeCalls', 0)} write calls, "
        f"{last.get('durationSeconds')}s, {_ago(last.get('finishedTime'))}"
    )


def render_pass(body: dict[str, Any], requests: dict[str, Any]) -> str:
    """What `reconcile --wait` prints: the pass that took up the request."""
    last = body.get("lastPass") or {}
    if last.get("number") != requests.get("pass"):
        # A later pass finished meanwhile; the request's own pass is summarised.
        return (
            f"pass #{requests.get('pass')} {requests.get('outcome')} at "
            f"{str(requests.get('revision') or '-')[:18]}"
        )
    lines = [f"pass {_pass_line(last)}"]
    plan = body.get("lastPlan") or {}
    if last.get("outcome") in ("applied", "planned"):
        lines += [f"  {item}" for item in (plan.get("items") or [])[:PLAN_LINES]]
    lines += [f"  {e}" for e in (last.get("errors") or [])[:10]]
    return "\n".join(lines)
