"""The settings table of docs/operations.md, generated from reconciler/settings.py and the
`reconciler run` options, so that it cannot fall behind: `python -m tests.ops.settings_table`
prints it; tests/ops/test_operations_doc.py fails when the doc differs or a setting has no
description here."""

from __future__ import annotations

from typing import Any

import click

from reconciler.cli import main
from reconciler.cli import run as run_cmd
from reconciler.settings import DaemonSettings

START = "<!-- settings-table:start (generated: python -m tests.ops.settings_table) -->"
END = "<!-- settings-table:end -->"

# What each setting is for, in an operator's words. Defaults come from the code.
DESCRIPTIONS = {
    "routes_dir": "Route files. With a git source, relative to the checkout; with git-sync, `/git/current/routes` (symlink swaps are followed).",
    "root": "Repository root holding `edge_functions/`.",
    "region": "Region of the DynamoDB tables (CloudFront is global, Lambda@Edge always us-east-1).",
    "endpoint_url": "Send every AWS call here (an emulated AWS). Unset in production.",
    "allow_mass_delete": "Let prunes delete beyond the prune guard or empty a store/table. Leave off; use it for one deliberate pass.",
    "env": "Environment whose `environments/<env>.yaml` gives the route files' `${NAME}` values (`RECONCILER_VAR_<NAME>` fills names it leaves open). Unset: no environment, and a `${NAME}` without a default is an error.",
    "dry_run": "Plan every pass, write nothing (plans in `/status` and the logs).",
    "self_heal": "Undo drift made outside the route files. Off: drift is reported (`Ready=False/DriftDetected`), not undone.",
    "resync_interval": "Full pass this often, catching drift and missed events (0: never).",
    "resync_jitter": "Random share (+-) added to each resync interval.",
    "debounce": "Quiet time after a file event before a pass starts.",
    "debounce_max": "Longest wait during a steady stream of file events.",
    "backoff_min": "First retry delay after a failed pass (doubles, with jitter).",
    "backoff_max": "Retry delay cap.",
    "pass_timeout": "A pass running longer makes `/healthz` fail (a wedged worker gets the container restarted).",
    "shutdown_timeout": "On SIGTERM, how long the running pass may finish; keep the pod's grace period above it.",
    "http_host": "Listen address of the HTTP endpoints (the image sets `0.0.0.0`).",
    "http_port": "Port of `/healthz`, `/readyz`, `/metrics`, `/status`, `/suspend`, `/resume`, `/reconcile`.",
    "state_dir": "Writable state: the `suspend` flag, the drift baseline, the built-in git checkout. The image sets `/var/lib/reconciler` (a volume).",
    "api_token": "Token that `POST /suspend`, `/resume`, `/reconcile` require (`Authorization: Bearer`). Environment only (a flag would show in `ps`). Neither this nor the file: those endpoints answer 403.",
    "api_token_file": "File holding the API token (a mounted Secret); re-read when it changes, so a rotation needs no restart.",
    "webhook_secret": "Secret of `POST /hook/github`, `/hook/gitlab`, `/hook/generic` (HMAC key, or GitLab's token). Environment only. Neither this nor the file: webhooks are off (404).",
    "webhook_secret_file": "File holding the webhook secret; re-read when it changes.",
    "notifications_file": "YAML/JSON file of notification providers (webhook, Slack, GitHub commit status) and which events go to each; validated at start.",
    "progress_interval": "While a pass runs, log `pass.progress` (elapsed time, AWS calls so far, the last call) this often (0: never).",
    "git_url": "Built-in git source (instead of a git-sync sidecar). Credentials in the URL are masked in logs; pass it as a secret.",
    "git_branch": "Branch of the built-in git source.",
    "git_interval": "Fetch interval of the built-in git source.",
    "git_dir": "Work tree of the built-in git source (required with `git_url`; put it under the state dir).",
    "leader_election": "Several replicas: only the holder of a DynamoDB lease runs passes (needs the `LeaderLease` permissions).",
    "lease_table": "DynamoDB table of the leases, created on demand.",
    "lease_name": "Lease shared by rival replicas; default derived from the region and the routes source.",
    "lease_duration": "Lease validity; renewed every third of it.",
    "sandbox": "Start the embedded emulated AWS, seeded (demos, rehearsals; part of every install and of the image).",
    "sandbox_port": "Port of the embedded emulated AWS (0: any free port).",
    "sandbox_edge_port": "With `--sandbox`: a local edge (the distribution's functions over the emulated state, proxying to local origin backends) on this port; unset: none.",
    "log_format": "`json` lines (the image's default), `console`, or `auto` (console on a terminal).",
    "log_level": "`debug`, `info`, `warning` or `error`.",
}
COMPUTED_DEFAULTS = {
    "root": "the routes dir's parent (the checkout with a git source)",
    "state_dir": "`$XDG_STATE_HOME/reconciler` or `~/.local/state/reconciler`",
    "lease_name": "derived",
}
DURATIONS = {
    name
    for name, field in DaemonSettings.model_fields.items()
    if any(getattr(m, "func", None) is not None for m in field.metadata)
}


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms" if seconds < 1 else f"{seconds:g}s"


def default_text(name: str) -> str:
    if name in COMPUTED_DEFAULTS:
        return COMPUTED_DEFAULTS[name]
    value: Any = DaemonSettings.model_fields[name].default
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if name in DURATIONS:
        return f"`{_duration(float(value))}`"
    return f"`{value}`"


def _flags() -> dict[str, str]:
    """Setting name -> how it is spelled on the command line."""
    flags: dict[str, str] = {}
    for command, prefix in ((run_cmd.command, ""), (main, "reconciler ")):
        for param in command.params:
            if isinstance(param, click.Option) and param.name:
                spelled = "/".join([*param.opts, *param.secondary_opts])
                flags.setdefault(param.name, f"`{prefix}{spelled}`")
    return flags


def table() -> str:
    flags = _flags()
    missing = [n for n in DaemonSettings.model_fields if n not in DESCRIPTIONS]
    if missing:
        raise KeyError(f"describe these settings in tests/ops/settings_table.py: {missing}")
    rows = ["| environment variable | flag | default | what it does |", "|---|---|---|---|"]
    for name in DaemonSettings.model_fields:
        env = f"`RECONCILER_{name.upper()}`"
        flag = flags.get(name, "—")
        rows.append(f"| {env} | {flag} | {default_text(name)} | {DESCRIPTIONS[name]} |")
    return "\n".join(rows)


def block() -> str:
    return f"{START}\n{table()}\n{END}"


if __name__ == "__main__":
    print(block())
