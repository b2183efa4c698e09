"""KeyValueStore data-plane errors, as botocore's cloudfront-keyvaluestore model declares them.

Each `code` is an error shape of the 2022-07-26 model with the model's HTTP status; each
message starts with the shape's documentation in the model ("Validation failed.",
"Resource is not in expected state.", ...) and adds what failed. The model declares no
throttling error for this service: the wire hooks' throttle fault for it is an
assumption, stated in reconciler/sandbox/hooks/faults.py.
"""

from __future__ import annotations


class KvsError(Exception):
    """An AWS error response, by the model's name and HTTP status."""

    status = 400
    code = "ValidationException"
    documented = "Validation failed."

    def __init__(self, detail: str) -> None:
        self.message = f"{self.documented} {detail}"
        super().__init__(self.message)


class ValidationError(KvsError):
    status, code, documented = 400, "ValidationException", "Validation failed."


class ConflictError(KvsError):
    status, code, documented = 409, "ConflictException", "Resource is not in expected state."


class NotFoundError(KvsError, LookupError):
    status, code, documented = 404, "ResourceNotFoundException", "Resource was not found."


class QuotaExceededError(KvsError):
    status, code, documented = 402, "ServiceQuotaExceededException", "Limit exceeded."


ALL = (ValidationError, ConflictError, NotFoundError, QuotaExceededError)
