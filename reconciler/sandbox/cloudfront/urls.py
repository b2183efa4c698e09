"""URL patterns moto 5.2.5's CloudFront lacks (moto matches these against the raw path)."""

from __future__ import annotations

ROUTES = (
    "{0}/2020-05-31/function/(?P<function_name>[^/]+)/publish$",
    "{0}/2020-05-31/function/(?P<function_name>[^/]+)/test$",
    "{0}/2020-05-31/cache-policy$",
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)$",
    "{0}/2020-05-31/cache-policy/(?P<Id>[^/]+)/config$",
    "{0}/2020-05-31/origin-request-policy$",
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)$",
    "{0}/2020-05-31/origin-request-policy/(?P<Id>[^/]+)/config$",
)
