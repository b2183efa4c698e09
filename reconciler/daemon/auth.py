"""Who may ask the daemon to act: the API token of the POST endpoints, and the webhook
signatures of GitHub, GitLab and a generic HMAC sender (Flux's Receiver types).

Secrets come from the environment or from a file (a Kubernetes Secret volume, rotated in
place: the file is re-read when it changes). Comparisons are constant-time
(hmac.compare_digest). Nothing here logs a token, a signature or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from pathlib import Path


class SecretError(ValueError):
    """A configured secret cannot be used (unreadable or empty file)."""


class Secret:
    """A secret from a value or a file; `None` when neither is configured.

    A file is read at start (an unreadable one is a configuration error) and again when
    its modification time or size changes, so a rotated Kubernetes Secret takes effect
    without a restart. A file that becomes unreadable later keeps the last good value.
    """

    def __init__(self, name: str, value: str | None = None, path: Path | None = None) -> None:
        if value is not None and path is not None:
            raise SecretError(f"{name}: set the value or the file, not both")
        self.name = name
        self._value = value.strip().encode() if value is not None else None
        if value is not None and not self._value:
            raise SecretError(f"{name}: empty")
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._reload(strict=True)

    @property
    def configured(self) -> bool:
        return self._value is not None or self._path is not None

    @property
    def source(self) -> str:
        """Where it comes from, for logs (never the value)."""
        if self._path is not None:
            return f"file {self._path}"
        return "environment" if self._value is not None else "not set"

    def get(self) -> bytes | None:
        if self._path is not None:
            self._reload(strict=False)
        return self._value

    def _reload(self, strict: bool) -> None:
        assert self._path is not None
        try:
            st = os.stat(self._path)
            stamp = (st.st_mtime_ns, st.st_size)
            with self._lock:
                if stamp == self._stamp:
                    return
                data = self._path.read_bytes().strip()
                if not data:
                    raise SecretError(f"{self.name}: file {self._path} is empty")
                self._value, self._stamp = data, stamp
        except (OSError, SecretError) as exc:
            if strict:
                detail = exc if isinstance(exc, SecretError) else f"file {self._path}: {exc.strerror}"
                raise SecretError(f"{self.name}: {detail}") from exc


def bearer_matches(header: str | None, token: bytes | None) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    if token is None or not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token)


# --- webhooks ----------------------------------------------------------------------------

WEBHOOK_KINDS = ("github", "gitlab", "generic")
_DIGESTS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: str = ""  # for the log and the 401 body; never contains the secret or signature


def verify_webhook(kind: str, headers: dict[str, str], body: bytes, secret: bytes) -> Verdict:
    """Is this request signed by whoever holds `secret`? `headers`: lower-case names.

    github:  X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body) (hex)
    gitlab:  X-Gitlab-Token: the secret itself (GitLab does not sign bodies)
    generic: X-Signature: sha256=<hex> or sha512=<hex>, HMAC of the body (Flux's
             generic-hmac Receiver)
    """
    if kind == "github":
        return _hmac_header(headers.get("x-hub-signature-256"), body, secret, {"sha256"})
    if kind == "gitlab":
        given = headers.get("x-gitlab-token")
        if not given:
            return Verdict(False, "no X-Gitlab-Token header")
        if not hmac.compare_digest(given.encode(), secret):
            return Verdict(False, "X-Gitlab-Token does not match")
        return Verdict(True)
    if kind == "generic":
        return _hmac_header(headers.get("x-signature"), body, secret, set(_DIGESTS))
    return Verdict(False, f"unknown webhook kind {kind!r}")


def _hmac_header(header: str | None, body: bytes, secret: bytes, allowed: set[str]) -> Verdict:
    if not header:
        return Verdict(False, "no signature header")
    algorithm, _, given = header.partition("=")
    if algorithm not in allowed:
        return Verdict(False, f"signature algorithm must be one of {sorted(allowed)}")
    expected = hmac.new(secret, body, _DIGESTS[algorithm]).hexdigest()
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        return Verdict(False, "signature does not match the body")
    return Verdict(True)


def sign(body: bytes, secret: bytes, algorithm: str = "sha256") -> str:
    """The header value a generic sender (or our own webhook notifications) sends."""
    return f"{algorithm}=" + hmac.new(secret, body, _DIGESTS[algorithm]).hexdigest()
