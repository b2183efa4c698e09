"""AWS's managed CloudFront policies: the same published id in every account.

Plans show a policy by the name a route file uses, not by its UUID. The ids are the ones
AWS publishes in the CloudFront Developer Guide ("Use managed cache policies", "Use
managed origin request policies"); a custom policy's name reaches the renderer only when
the change carries it (Change.labels).
"""

from __future__ import annotations

MANAGED_POLICY_NAMES: dict[str, str] = {
    # cache policies
    "2e54312d-136d-493c-8eb9-b001f22f67d2": "Amplify",
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "CachingDisabled",
    "658327ea-f89d-4fab-a63d-7e88639e58f6": "CachingOptimized",
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": "CachingOptimizedForUncompressedObjects",
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": "Elemental-MediaPackage",
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": "UseOriginCacheControlHeaders",
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": "UseOriginCacheControlHeaders-QueryStrings",
    # origin request policies
    "216adef6-5c7f-47e4-b989-5492eafa07d3": "AllViewer",
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": "AllViewerAndCloudFrontHeaders-2022-06",
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": "AllViewerExceptHostHeader",
    "59781a5b-3903-41f3-afcb-af62929ccde1": "CORS-CustomOrigin",
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "CORS-S3Origin",
    "775133bc-15f2-49f9-abea-afb2e0bf67d2": "Elemental-MediaTailor-PersonalizedManifests",
    "bf0718e1-ba1e-49d1-88b1-f726733018ae": "HostHeaderOnly",
    "acba4595-bd28-49b8-b9fe-13317c0390fa": "UserAgentRefererHeaders",
}
