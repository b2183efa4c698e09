"""Wiring: settings -> worker, file watchers, git source, suspend flag, HTTP endpoint,
webhooks, notifications, AWS call metrics, the pass heartbeat.

`Daemon` owns the threads and their order of start and stop; `serve` is the foreground
loop of `reconciler run` (signals in, exit code out).
"""

from __future__ import annotations

import itertools
import secrets
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

import structlog

from reconciler.core.model import Plan
from reconciler.daemon.auth import Secret
from reconciler.daemon.aws_calls import AwsCalls
from reconciler.daemon.file_watch import FileWatcher
from reconciler.daemon.git_source import GitSource, GitSyncError
from reconciler.daemon.heartbeat import Heartbeat
from reconciler.daemon.http import Application, HttpServer
from reconciler.daemon.leader import LeaderElector, LeaderState, LeaseTable
from reconciler.daemon.metrics import CONTENT_TYPE, DaemonMetrics
from reconciler.daemon.notify import Notifier, load_notifications
from reconciler.daemon.revision import read_revision
from reconciler.daemon.status import StatusBoard, utc_iso
from reconciler.daemon.triggers import Trigger
from reconciler.daemon.webhooks import WebhookReceiver
from reconciler.daemon.worker import Runner, Worker, WorkerConfig
from reconciler.engine.report import PassReport
from reconciler.settings import DaemonSettings

log = structlog.get_logger("reconciler.daemon")

EDGE_FUNCTIONS_DIR = "edge_functions"
ENVIRONMENTS_DIR = "environments"
NOTIFY_DRAIN_SECONDS = 5.0  # at SIGTERM, how long queued notifications may still go out
LEDGER_FILE = "ledger.json"  # reconciler.engine.ledger: what drift is measured against


def worker_config(settings: DaemonSettings) -> WorkerConfig:
    return WorkerConfig(
        dry_run=settings.dry_run,
        self_heal=settings.self_heal,
        debounce=settings.debounce,
        debounce_max=settings.debounce_max,
        resync_interval=settings.resync_interval,
        resync_jitter=settings.resync_jitter,
        backoff_min=settings.backoff_min,
        backoff_max=settings.backoff_max,
        pass_timeout=settings.pass_timeout,
    )


class Daemon:
    def __init__(
        self,
        settings: DaemonSettings,
        runner: Runner,
        *,
        http: bool = True,
        lease: LeaseTable | None = None,
        aws_clients: Iterable[Any] = (),
    ) -> None:
        """`lease`: with leader election, the lease this replica competes for.
        `aws_clients`: the engine's boto3 clients (Adapters.clients()), counted.

        Raises SecretError / NotificationConfigError when a configured token, secret or
        notification file cannot be used: better at start than at the first push."""
        self.settings = settings
        self.routes_dir = settings.resolved_routes_dir
        self.root = settings.resolved_root
        self.metrics = DaemonMetrics()
        self.status = StatusBoard(dry_run=settings.dry_run, self_heal=settings.self_heal)
        self.metrics.conditions.read = self.status.condition_states
        self.aws = AwsCalls(self.metrics)
        self.aws.instrument([*aws_clients, *(lease.clients if lease is not None else ())])
        self._runner = runner
        self._calls_at_start = 0
        routes_dir, functions_dir = self.routes_dir, self.root / EDGE_FUNCTIONS_DIR
        self.elector: LeaderElector | None = None
        self._was_leader = False
        if lease is not None:
            self.elector = LeaderElector(lease, settings.lease_duration, self._leadership)
        self.worker = Worker(
            self._counted,
            worker_config(settings),
            status=self.status,
            metrics=self.metrics,
            revision_of=lambda: read_revision(routes_dir, [functions_dir]),
            may_write=self.elector.may_write if self.elector else None,
        )
        self.heartbeat = Heartbeat(
            self.worker, self.aws, settings.progress_interval, lambda: self._calls_at_start
        )
        self.api_token = api_token(settings)
        self.webhook_secret = Secret(
            "webhook_secret",
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            settings.webhook_secret_file,
        )
        self._request_ids = itertools.count(1)
        self._request_lock = threading.Lock()
        self.notifier: Notifier | None = None
        if settings.notifications_file is not None:
            config = load_notifications(settings.notifications_file)
            self.notifier = Notifier(config, self.metrics)
            self.worker.add_listener(self.notifier.on_pass)
        self._init_leader_status()
        self.watcher = FileWatcher()
        self.git: GitSource | None = None
        if settings.git_url and settings.git_dir is not None:
            self.git = GitSource(
                settings.git_url,
                settings.git_branch,
                settings.git_dir,
                settings.git_interval,
                on_update=lambda rev: self.worker.notify_change(f"git:{rev.sha}"),
            )
        self._stopping = False
        self.webhooks = (
            WebhookReceiver(
                self.webhook_secret,
                settings.git_branch if self.git is not None else None,
                lambda kind: self._request(Trigger.WEBHOOK),
                lambda kind, result: self.metrics.webhooks.labels(kind=kind, result=result).inc(),
            )
            if self.webhook_secret.configured
            else None
        )
        self.http: HttpServer | None = None
        if http:
            app = Application(
                self, self.metrics.registry, self.api_token, self.webhooks, self.metrics.http_requests
            )
            self.http = HttpServer(settings.http_host, settings.http_port, app)

    def _counted(
        self,
        dry_run: bool,
        *,
        confirm: Callable[[Plan], bool] | None = None,
        changed_only: bool = False,
    ) -> PassReport:
        """The runner, with the AWS call count at its start (for the heartbeat)."""
        self._calls_at_start = self.aws.count
        return self._runner(dry_run, confirm=confirm, changed_only=changed_only)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Raises GitSyncError when the first clone fails: without files there is nothing
        to reconcile, and the container's restart back-off is the right retry."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        if self.git is not None:
            try:
                self.git.sync()
            except GitSyncError as exc:
                if not self.git.has_checkout():
                    raise
                # A checkout from before the restart (a persistent volume) is still the
                # last good revision: reconcile it and keep fetching.
                log.warning("git.checkout_reused", error=str(exc), why="the first fetch failed")
        self.watcher.watch_tree(self.routes_dir, self.worker.notify_change)
        self.watcher.watch_tree(self.root / EDGE_FUNCTIONS_DIR, self.worker.notify_change)
        # The ${NAME} values of the environment (docs/route-files.md, Environments).
        self.watcher.watch_tree(self.root / ENVIRONMENTS_DIR, self.worker.notify_change)
        self.watcher.watch_file(self.settings.suspend_flag, self._flag_changed)
        self.watcher.start()
        if self.notifier is not None:
            self.notifier.start()
        self.worker.start(suspended=self.settings.suspend_flag.exists())
        self.heartbeat.start()
        if self.elector is not None:
            self.elector.start()
        if self.git is not None:
            self.git.start()
        if self.http is not None:
            self.http.start()

    def stop(self, timeout: float) -> bool:
        """Stop taking triggers, let a running pass finish. False if it did not in time."""
        self._stopping = True
        self.watcher.stop()
        if self.git is not None:
            self.git.stop()
        self.worker.stop()
        finished = self.worker.join(timeout)
        self.heartbeat.stop()
        if self.notifier is not None:
            # What the last pass had to say still goes out, briefly.
            self.notifier.stop(NOTIFY_DRAIN_SECONDS)
        if self.elector is not None:
            # Released only after the last pass ended: the next leader must not write
            # while this one still does. A pass that did not end keeps the lease until
            # it expires (the process exits 1 right after).
            self.elector.stop(release=finished)
        if self.http is not None:
            self.http.stop()
        return finished

    # --- the HTTP API -----------------------------------------------------------------

    def healthz(self) -> tuple[bool, str]:
        """Liveness: something in this process is stuck and a restart would help."""
        ok, message = self.worker.healthy()
        if ok and not self.watcher.alive():
            return False, "file watcher is not running"
        if ok and self.git is not None:
            ok, message = self.git.healthy()
        if ok and self.elector is not None and not self.elector.alive():
            return False, "leader election is not running"
        return ok, message

    def readyz(self) -> tuple[bool, str]:
        """Readiness is the process: started, not stopping, healthy. Not the route files
        or AWS: a pod taken out of its Service on invalid files would hide /status and
        /resume exactly when an operator needs them (the Ready condition says it)."""
        if self._stopping:
            return False, "shutting down"
        ok, message = self.healthz()
        if not ok:
            return False, message
        if self.elector is not None and not self.elector.state.leader:
            return True, f"serving (standby: {self.elector.state.message})"
        if self.worker.suspended:
            return True, "serving (suspended)"
        ready = self.status.condition("Ready")
        return True, f"serving (Ready={ready.status}/{ready.reason})"

    def metrics_text(self) -> tuple[bytes, str]:
        return self.metrics.render(), CONTENT_TYPE

    def status_json(self) -> dict[str, Any]:
        out = self.status.snapshot()
        out["routesDir"] = str(self.routes_dir)
        out["suspendFlag"] = str(self.settings.suspend_flag)
        out.update(self._election_status())
        if self.git is not None:
            out["gitSource"] = {
                "branch": self.git.branch,
                "revision": self.git.revision.as_dict() if self.git.revision else None,
                "lastError": self.git.last_error,
            }
        out["distributions"] = self.aws.distributions()
        out["api"] = {
            "tokenConfigured": self.api_token.configured,
            "tokenSource": self.api_token.source,
            "webhooks": self.webhooks is not None,
            "notifications": self.notifier.describe() if self.notifier is not None else None,
        }
        return out

    def suspend(self) -> dict[str, Any]:
        flag = self.settings.suspend_flag
        # The flag file is the one source of truth: it survives restarts and can be set
        # with `touch` as well as over HTTP.
        flag.write_text("suspended over HTTP\n")
        self.worker.set_suspended(True, why="POST /suspend")
        return {"suspended": True, "flag": str(flag)}

    def resume(self) -> dict[str, Any]:
        self.settings.suspend_flag.unlink(missing_ok=True)
        self.worker.set_suspended(False, why="POST /resume")
        return {"suspended": False}

    def reconcile(self) -> dict[str, Any]:
        return self._request(Trigger.MANUAL)

    def _request(self, trigger: Trigger) -> dict[str, Any]:
        """A pass on the newest revision: with the built-in git source, fetch first (the
        pass is requested once the fetch is done), else request it now. The request id
        comes back at once; /status.requests says when a pass took it up."""
        with self._request_lock:
            request_id = next(self._request_ids)

        def run() -> None:
            self.worker.request(trigger, request_id)

        if self.git is not None:
            self.git.request_sync(run)
        else:
            run()
        out: dict[str, Any] = {
            "requested": True,
            "requestId": request_id,
            "fetch": self.git is not None,
            "suspended": self.worker.suspended,
        }
        if self.elector is not None:
            out["leader"] = self.elector.state.leader
        return out

    # --- leader election --------------------------------------------------------------

    def _init_leader_status(self) -> None:
        if self.elector is None:
            self.metrics.leader.set(1)  # a single replica always leads
            return
        self.metrics.leader.set(0)
        state = self.elector.state
        self.status.set_condition("Leader", "False", state.reason, state.message)

    def _leadership(self, state: LeaderState) -> None:
        """The elector's news (its thread): condition, metrics, and wake the worker."""
        if state.leader != self._was_leader:
            self.metrics.leader_transitions.inc()
            self._was_leader = state.leader
        self.metrics.leader.set(1 if state.leader else 0)
        self.status.set_condition(
            "Leader", "True" if state.leader else "False", state.reason, state.message
        )
        self.worker.leadership_changed(state.leader)

    def _election_status(self) -> dict[str, Any]:
        if self.elector is None:
            return {}
        elector, state = self.elector, self.elector.state
        current = state.current
        return {
            "leader": state.leader,
            "leaderElection": {
                "holder": elector.holder,
                "leaseTable": elector.table.table,
                "leaseName": elector.table.name,
                "leaseDurationSeconds": elector.duration,
                "currentHolder": current.holder if current else None,
                "leaseExpiresTime": utc_iso(current.expires_at) if current else None,
                "transitions": elector.transitions,
            },
        }

    def _flag_changed(self) -> None:
        self.worker.set_suspended(self.settings.suspend_flag.exists(), why="flag file")


def api_token(settings: DaemonSettings) -> Secret:
    """The API token: the environment's, the file's, or (sandbox demo only) a generated
    one in the state dir that the client commands find. Otherwise none: POSTs refused."""
    value = settings.api_token.get_secret_value() if settings.api_token else None
    if value is not None or settings.api_token_file is not None:
        return Secret("api_token", value, settings.api_token_file)
    if not settings.sandbox:
        return Secret("api_token")
    path = settings.generated_token_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        log.info("api.token_generated", path=str(path), why="--sandbox without a token")
    return Secret("api_token", path=path)


def serve(daemon: Daemon, shutdown_timeout: float, on_started: Any = None) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        daemon.start()
        if on_started is not None:
            on_started(daemon)
        stop.wait()
        log.info(
            "daemon.stopping", signal=received[0] if received else None, timeout=shutdown_timeout
        )
        finished = daemon.stop(shutdown_timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not finished:
        log.error("daemon.stop_timeout", note="the running pass did not finish in time")
        return 1
    log.info("daemon.stopped")
    return 0
