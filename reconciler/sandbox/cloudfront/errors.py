"""CloudFront errors the emulation raises, as botocore's model declares them.

Each `code` is an error shape of botocore's cloudfront 2020-05-31 model, so moto's
serializer takes the HTTP status from the model (e.g. PreconditionFailed -> 412); each
default `message` is that shape's documentation in the model (AWS's own wording). A
message that names the resource or the field adds that to the documented text, as
CloudFront's answers do. moto's own classes (NoSuchDistribution, NoSuchFunctionExists,
FunctionAlreadyExists, EntityNotFound, EntityAlreadyExists) are re-exported so that the
emulation raises one family.
"""

from __future__ import annotations

from moto.cloudfront.exceptions import (
    EntityAlreadyExists,
    EntityNotFound,
    FunctionAlreadyExists,
    NoSuchDistribution,
    NoSuchFunctionExists,
)
from moto.core.exceptions import ServiceException

__all__ = [
    "CannotDeleteEntityWhileInUse",
    "DistributionNotDisabled",
    "EntityAlreadyExists",
    "EntityNotFound",
    "FunctionAlreadyExists",
    "FunctionInUse",
    "FunctionSizeLimitExceeded",
    "InconsistentQuantities",
    "InvalidArgument",
    "InvalidFunctionAssociation",
    "InvalidIfMatchVersion",
    "InvalidLambdaFunctionAssociation",
    "InvalidViewerCertificate",
    "NoSuchCachePolicy",
    "NoSuchDistribution",
    "NoSuchFunctionExists",
    "NoSuchOriginRequestPolicy",
    "PreconditionFailed",
]


class PreconditionFailed(ServiceException):  # 412
    code = "PreconditionFailed"
    message = "The precondition in one or more of the request fields evaluated to false."


class InvalidIfMatchVersion(ServiceException):  # 400
    code = "InvalidIfMatchVersion"
    message = "The If-Match version is missing or not valid."


class InvalidArgument(ServiceException):  # 400
    code = "InvalidArgument"
    message = "An argument is invalid."


class InconsistentQuantities(ServiceException):  # 400
    code = "InconsistentQuantities"
    message = "The value of Quantity and the size of Items don't match."


class InvalidFunctionAssociation(ServiceException):  # 400
    code = "InvalidFunctionAssociation"
    message = "A CloudFront function association is invalid."


class InvalidLambdaFunctionAssociation(ServiceException):  # 400
    code = "InvalidLambdaFunctionAssociation"
    message = "The specified Lambda@Edge function association is invalid."


class InvalidViewerCertificate(ServiceException):  # 400
    code = "InvalidViewerCertificate"
    message = "A viewer certificate specified is not valid."


class NoSuchCachePolicy(ServiceException):  # 404
    code = "NoSuchCachePolicy"
    message = "The cache policy does not exist."


class NoSuchOriginRequestPolicy(ServiceException):  # 404
    code = "NoSuchOriginRequestPolicy"
    message = "The origin request policy does not exist."


class DistributionNotDisabled(ServiceException):  # 409
    code = "DistributionNotDisabled"
    message = (
        "The specified CloudFront distribution is not disabled. You must disable the "
        "distribution before you can delete it."
    )


class FunctionSizeLimitExceeded(ServiceException):  # 413
    code = "FunctionSizeLimitExceeded"
    message = "The function is too large."


class FunctionInUse(ServiceException):  # 409
    code = "FunctionInUse"
    message = "Cannot delete the function because it's attached to one or more cache behaviors."


class CannotDeleteEntityWhileInUse(ServiceException):  # 409
    code = "CannotDeleteEntityWhileInUse"
    message = "The entity cannot be deleted while it is in use."
