"""GetFunction's Code.Location: a URL that answers with the package, as on AWS.

AWS answers GetFunction with "the presigned URL you can use to download the function's
.zip file that you previously uploaded. The URL is valid for up to 10 minutes." (botocore's
lambda model, FunctionCodeLocation.Location). moto answers an S3 URL nothing serves. Here
the URL points at the sandbox itself, path-style on the bucket AWS uses
(`/awslambda-<region>-tasks/snapshots/<account>/<function>-<id>`), with the query of an
S3 presigned URL; the sandbox checks its signature and expiry like S3 would (403
AccessDenied "Request has expired", 403 SignatureDoesNotMatch, 404 NoSuchKey: the S3 API
reference's error codes) and answers the zip bytes GetFunction saw.

Any HTTP client fetches it (urllib, curl, the AWS SDKs' importers); the URL uses the
address the client reached the sandbox at, so it works through the proxy mode too.
Gap from AWS: the URL is plain http on the sandbox, not https on S3.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from reconciler import emulator
from reconciler.sandbox import context

_SECRET = secrets.token_bytes(32)
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def _signature(path: str, amz_date: str, expires: str) -> str:
    return hmac.new(_SECRET, f"{path}\n{amz_date}\n{expires}".encode(), hashlib.sha256).hexdigest()


def presigned_location(function: Any) -> str:
    """Register the package of `function` (a moto LambdaFunction) and return its URL."""
    current = context.current()
    seconds = current.switches.lambda_code_url_seconds
    path = (
        f"/awslambda-{function.region}-tasks/snapshots/{function.account_id}/"
        f"{function.function_name}-{uuid.uuid4()}"
    )
    now = datetime.now(UTC)
    amz_date = now.strftime(_DATE_FORMAT)
    if current.downloads is not None:
        current.downloads.register(path, bytes(function.code_bytes), time.time() + seconds)
    query = {
        "versionId": secrets.token_hex(16),
        "X-Amz-Security-Token": secrets.token_urlsafe(24),
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Date": amz_date,
        "X-Amz-SignedHeaders": "host",
        "X-Amz-Expires": str(seconds),
        "X-Amz-Credential": (
            f"{emulator.CREDENTIALS['AWS_ACCESS_KEY_ID']}/{now:%Y%m%d}/"
            f"{function.region}/s3/aws4_request"
        ),
        "X-Amz-Signature": _signature(path, amz_date, str(seconds)),
    }
    return f"{current.base_url}{path}?{urlencode(query)}"


def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answer a GET of a presigned code URL (the gateway routes wire_model.CODE_PATH here)."""
    path = environ.get("PATH_INFO", "")
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    downloads = context.current().downloads
    amz_date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
    expected = _signature(path, amz_date, expires)
    if not hmac.compare_digest(expected, query.get("X-Amz-Signature", "")):
        return _s3_error(
            start_response,
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    signed_at = datetime.strptime(amz_date, _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    if time.time() > signed_at + int(expires):
        return _s3_error(start_response, 403, "AccessDenied", "Request has expired")
    found = downloads.lookup(path) if downloads is not None else None
    if found is None:
        return _s3_error(start_response, 404, "NoSuchKey", "The specified key does not exist.")
    body, _ = found
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/zip"),
            ("Content-Length", str(len(body))),
            ("ETag", f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'),
        ],
    )
    return [body]


def _s3_error(start_response: Any, status: int, code: str, message: str) -> Iterable[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    reason = {403: "Forbidden", 404: "Not Found"}[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def with_location(original: Any) -> Any:
    """Wrap LambdaResponse.get_function: Code.Location becomes a URL the sandbox serves."""

    @functools.wraps(original)
    def get_function(self: Any) -> Any:
        answer = original(self)
        text = answer if isinstance(answer, str) else answer[2]
        body = json.loads(text)
        code = body.get("Code") or {}
        if code.get("RepositoryType") == "S3":
            name = unquote(self.path.rsplit("/", 1)[-1])
            function = self.backend.get_function(name, self._get_param("Qualifier", None))
            code["Location"] = presigned_location(function)
        text = json.dumps(body)
        return text if isinstance(answer, str) else (*answer[:2], text)

    return get_function
