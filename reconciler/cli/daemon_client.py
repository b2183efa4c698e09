"""Talking to a running daemon over its HTTP API: where it is, the token, one request.

The URL: `--url`, else RECONCILER_URL, else http://127.0.0.1:$RECONCILER_HTTP_PORT (8080).
The token, first found wins: `--token-file`, RECONCILER_API_TOKEN, RECONCILER_API_TOKEN_FILE,
then the token a `run --sandbox` daemon generated in the state dir
($RECONCILER_STATE_DIR/api-token). The same variables the daemon reads, so one
environment configures both.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.settings import default_state_dir

# Exit codes of the client commands (documented in docs/operations.md).
EXIT_OK = 0
EXIT_NOT_OK = 1  # the pass (or the daemon's Ready condition) is not good
EXIT_UNREACHABLE = 3  # no answer, refused (401/403), or nothing will run (suspended, follower)
EXIT_TIMEOUT = 4  # --wait gave up


class ClientError(click.ClickException):
    exit_code = EXIT_UNREACHABLE


def default_url() -> str:
    if os.environ.get("RECONCILER_URL"):
        return os.environ["RECONCILER_URL"].rstrip("/")
    port = os.environ.get("RECONCILER_HTTP_PORT") or "8080"
    return f"http://127.0.0.1:{port}"


def find_token(token_file: Path | None) -> str | None:
    if token_file is not None:
        return _read(token_file)
    if os.environ.get("RECONCILER_API_TOKEN"):
        return os.environ["RECONCILER_API_TOKEN"].strip()
    env_file = os.environ.get("RECONCILER_API_TOKEN_FILE")
    if env_file:
        return _read(Path(env_file))
    state_dir = os.environ.get("RECONCILER_STATE_DIR")
    generated = (Path(state_dir) if state_dir else default_state_dir()) / "api-token"
    return generated.read_text().strip() if generated.is_file() else None


def _read(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ClientError(f"token file {path}: {exc.strerror}") from exc
    if not text:
        raise ClientError(f"token file {path} is empty")
    return text


@dataclass(frozen=True)
class DaemonClient:
    url: str
    token: str | None
    timeout: float = 10.0

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def post(self, path: str) -> Any:
        return self._call("POST", path)

    def _call(self, method: str, path: str) -> Any:
        headers = {"Accept": "application/json"}
        if method == "POST":
            if self.token is None:
                raise ClientError(
                    "no API token: set RECONCILER_API_TOKEN or RECONCILER_API_TOKEN_FILE, or "
                    "pass --token-file (the daemon's own token)"
                )
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url + path, method=method, data=b"" if method == "POST" else None, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise ClientError(f"{method} {path}: HTTP {exc.code}: {_error_text(exc)}") from None
        except urllib.error.URLError as exc:
            raise ClientError(f"cannot reach the daemon at {self.url}: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise ClientError(f"cannot reach the daemon at {self.url}: {exc}") from None
        except ValueError as exc:
            raise ClientError(f"{method} {path}: not JSON ({exc})") from None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason
    return str(body.get("error", exc.reason)) if isinstance(body, dict) else exc.reason


def client_options(fn: Any) -> Any:
    """--url, --token-file, --timeout on every client command."""
    fn = click.option(
        "--timeout",
        "http_timeout",
        type=float,
        default=10.0,
        show_default=True,
        help="Seconds to wait for each HTTP answer.",
    )(fn)
    fn = click.option(
        "--token-file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="File holding the daemon's API token. [env RECONCILER_API_TOKEN, "
        "RECONCILER_API_TOKEN_FILE; default: the token a --sandbox daemon generated]",
    )(fn)
    fn = click.option(
        "--url",
        default=None,
        help="The daemon's HTTP endpoint. [env RECONCILER_URL; default "
        "http://127.0.0.1:$RECONCILER_HTTP_PORT, port 8080]",
    )(fn)
    return fn


def make_client(url: str | None, token_file: Path | None, timeout: float) -> DaemonClient:
    return DaemonClient((url or default_url()).rstrip("/"), find_token(token_file), timeout)
