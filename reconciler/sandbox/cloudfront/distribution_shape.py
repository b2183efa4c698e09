"""The distribution fields outside the cache behaviours, as CloudFront returns them.

Audited field by field against AWS's example outputs (AWS CLI `get-distribution-config`
and `create-distribution` examples 1 and 3, which the CloudFront API reference and
Developer Guide publish) and botocore's cloudfront 2020-05-31 model documentation:

- ViewerCertificate: with CloudFrontDefaultCertificate true AWS returns only
  CloudFrontDefaultCertificate, MinimumProtocolVersion TLSv1 ("CloudFront automatically
  sets the security policy to TLSv1 regardless of the value that you set here") and
  CertificateSource cloudfront; moto added empty IAMCertificateId / ACMCertificateArn /
  Certificate and SSLSupportMethod sni-only, so a client reading them back never
  converges. With an ACM (IAM) certificate: ACMCertificateArn (IAMCertificateId),
  SSLSupportMethod, MinimumProtocolVersion (AWS's example answers TLSv1.2_2021 when none
  was sent), Certificate = the ARN (id), CertificateSource acm (iam).
- Origins: CustomHeaders {Quantity 0} without Items, S3OriginConfig as sent (moto drops
  it), and OriginAccessControlId "" next to ConnectionAttempts 3 / ConnectionTimeout 10 /
  OriginShield {Enabled false}.
- Distribution: ActiveTrustedSigners / ActiveTrustedKeyGroups {Enabled false, Quantity 0}
  without Items, LastModifiedTime the time of the last accepted change (moto returns a
  constant from 2021).

Gaps from AWS (kept, stated here): Aliases, PriceClass and IsIPV6Enabled keep moto's
defaults ({Quantity 0}, PriceClass_All, true) when the request leaves them out (AWS's
multi-tenant example omits them, no standard-distribution example shows an omission);
Staging, ContinuousDeploymentPolicyId, AnycastIpListId, TenantConfig and ConnectionMode
are neither stored nor returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.cloudfront.models import Distribution, Origin, ViewerCertificate
from moto.core.utils import utcnow

from reconciler.sandbox.cloudfront.errors import InvalidViewerCertificate

_PATCH_MARK = "_reconciler_patched"
DEFAULT_CERTIFICATE_PROTOCOL = "TLSv1"
CUSTOM_CERTIFICATE_PROTOCOL = "TLSv1.2_2021"


def _viewer_certificate_init(self: ViewerCertificate, config: dict[str, Any]) -> None:
    acm = config.get("ACMCertificateArn") or None
    iam = config.get("IAMCertificateId") or None
    default = bool(config.get("CloudFrontDefaultCertificate", not (acm or iam)))
    if default and (acm or iam):
        raise InvalidViewerCertificate(
            "CloudFrontDefaultCertificate true cannot be combined with a certificate."
        )
    if acm and iam:
        raise InvalidViewerCertificate("Specify ACMCertificateArn or IAMCertificateId, not both.")
    if not default and not (acm or iam):
        raise InvalidViewerCertificate(
            "CloudFrontDefaultCertificate false needs ACMCertificateArn or IAMCertificateId."
        )
    self.cloud_front_default_certificate = default
    self.acm_certificate_arn = acm
    self.iam_certificate_id = iam
    if default:
        self.ssl_support_method = None
        self.minimum_protocol_version = DEFAULT_CERTIFICATE_PROTOCOL
        self.certificate = None
        self.certificate_source = "cloudfront"
    else:
        self.ssl_support_method = config.get("SSLSupportMethod") or "sni-only"
        self.minimum_protocol_version = (
            config.get("MinimumProtocolVersion") or CUSTOM_CERTIFICATE_PROTOCOL
        )
        self.certificate = acm or iam
        self.certificate_source = "acm" if acm else "iam"


def _patched_origin_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Origin, origin: dict[str, Any]) -> None:
        original(self, origin)
        headers = list((origin.get("CustomHeaders") or {}).get("Items") or [])
        self.custom_headers = {"Quantity": len(headers), "Items": headers or None}
        extended: Any = self
        extended.origin_access_control_id = origin.get("OriginAccessControlId") or ""
        if "S3OriginConfig" in origin:  # moto keeps the identity but returns no element
            identity = origin["S3OriginConfig"].get("OriginAccessIdentity") or ""
            extended.s3_origin_config = {"OriginAccessIdentity": identity}

    setattr(__init__, _PATCH_MARK, True)
    return __init__


def _empty_signers(block: Any) -> None:
    if not block.items:
        block.items = None


def touch(distribution: Distribution) -> None:
    """An accepted change: LastModifiedTime is now (moto never moves it)."""
    changed: Any = distribution  # moto types it a str; the serializer takes a datetime
    changed.last_modified_time = utcnow()
    _empty_signers(distribution.active_trusted_signers)
    _empty_signers(distribution.active_trusted_key_groups)


def install() -> None:
    if not getattr(ViewerCertificate.__init__, _PATCH_MARK, False):
        setattr(_viewer_certificate_init, _PATCH_MARK, True)
        ViewerCertificate.__init__ = _viewer_certificate_init  # type: ignore[method-assign]
    if not getattr(Origin.__init__, _PATCH_MARK, False):
        Origin.__init__ = _patched_origin_init(Origin.__init__)  # type: ignore[method-assign]
