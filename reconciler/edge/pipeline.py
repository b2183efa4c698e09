"""One request along CloudFront's request path, from the viewer to an origin and back.

    select the cache behaviour (path pattern, first match, else default)
    -> check the allowed methods
    -> viewer-request: the LIVE CloudFront Function (with the store's current entries),
       or a Lambda@Edge version; a response returned here goes straight back
    -> the origin: the behaviour's target, changed by the origin helpers
    -> origin-request: the published Lambda@Edge version, body included when configured
    -> proxy to the local backend of the resulting origin domain

No cache: every request is a miss, so origin-request always runs (as with the seed's
CachingDisabled behaviour). Everything is read from the emulated AWS per request (through
SandboxState's short-lived cache), so a reconcile pass shows on the next request.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from reconciler.edge import cloudfront_errors as cf_errors
from reconciler.edge import origin_lambda, viewer_function
from reconciler.edge.lambda_invoker import LambdaEdgeInvoker
from reconciler.edge.model import EdgeResponse, ForwardRequest, OriginTarget, ViewerRequest
from reconciler.edge.origins import BackendAddress, OriginBackends
from reconciler.edge.path_patterns import Behavior, select_behavior
from reconciler.edge.sandbox_state import DistributionView, EdgeStateError, SandboxState
from reconciler.functions.cloudfront import CloudFrontFunctionRunner
from reconciler.functions.node import HarnessError

log = structlog.get_logger("reconciler.edge")

# Not forwarded hop to hop (RFC 9110 7.6.1), and Host, which the edge sets itself.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class _Answered(Exception):
    """Stops the request path with a response (an error page or a function's response)."""

    def __init__(self, response: EdgeResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _association(
    behavior: Behavior, block: str, arn_key: str, event_type: str
) -> Mapping[str, Any] | None:
    items = (behavior.config.get(block) or {}).get("Items") or []
    found = [i for i in items if i.get("EventType") == event_type and i.get(arn_key)]
    return found[0] if found else None


class EdgePipeline:
    def __init__(
        self,
        state: SandboxState,
        backends: OriginBackends,
        functions: CloudFrontFunctionRunner,
        lambdas: LambdaEdgeInvoker,
    ) -> None:
        self._state = state
        self._backends = backends
        self._functions = functions
        self._lambdas = lambdas

    def handle(self, viewer: ViewerRequest) -> EdgeResponse:
        request_id = cf_errors.new_request_id()
        domain = "local-edge.cloudfront.net"
        try:
            distribution = self._state.distribution()
            domain = distribution.domain_name
            response = self._route(viewer, distribution, request_id)
        except _Answered as answered:
            response = answered.response
        except EdgeStateError as exc:
            log.error("edge.state_unavailable", request_id=request_id, error=str(exc))
            response = cf_errors.error_page(502, cf_errors.ORIGIN_UNREACHABLE, request_id, str(exc))
        except Exception as exc:
            # A bug here (or a state AWS would have refused) must still answer the viewer,
            # not reset the connection: a 502 that names it, and the traceback in the log.
            log.exception("edge.internal_error", request_id=request_id)
            response = cf_errors.error_page(
                502, cf_errors.ORIGIN_UNREACHABLE, request_id, f"local edge error: {exc!r}"
            )
        return cf_errors.with_cloudfront_headers(response, request_id, domain)

    def _route(
        self, viewer: ViewerRequest, dist: DistributionView, request_id: str
    ) -> EdgeResponse:
        behavior = select_behavior(dist.config, viewer.path)
        bound = log.bind(
            request_id=request_id, method=viewer.method, path=viewer.path, behavior=behavior.path
        )
        allowed = (behavior.config.get("AllowedMethods") or {}).get("Items") or ["GET", "HEAD"]
        if viewer.method not in allowed:
            raise _Answered(cf_errors.error_page(403, cf_errors.METHOD_NOT_ALLOWED, request_id))
        origins = dist.origins()
        origin = origins[behavior.target_origin_id]
        forward = ForwardRequest(
            viewer.method, viewer.path, viewer.query, viewer.headers, viewer.body
        )
        context = {
            "distribution_id": dist.id,
            "distribution_domain": dist.domain_name,
            "request_id": request_id,
        }

        function = _association(behavior, "FunctionAssociations", "FunctionARN", "viewer-request")
        if function is not None:
            forward, origin = self._viewer_function(
                str(function["FunctionARN"]), viewer, origin, origins, context, bound
            )
        for event_type in ("viewer-request", "origin-request"):
            association = _association(
                behavior, "LambdaFunctionAssociations", "LambdaFunctionARN", event_type
            )
            if event_type == "origin-request":
                # CloudFront resolves the origin before the origin-request function runs.
                self._backend_for(origin, request_id, bound)
            if association is not None:
                forward, origin = self._lambda(
                    association, event_type, forward, origin, viewer.client_ip, context, bound
                )
        backend = self._backend_for(origin, request_id, bound)
        response = self._proxy(forward, origin, backend, viewer.client_ip, context)
        bound.info("edge.request", origin=origin.domain_name, status=response.status)
        return response

    # -- functions -------------------------------------------------------------------------

    def _viewer_function(
        self,
        arn: str,
        viewer: ViewerRequest,
        origin: OriginTarget,
        origins: Mapping[str, OriginTarget],
        context: Mapping[str, str],
        bound: FilteringBoundLogger,
    ) -> tuple[ForwardRequest, OriginTarget]:
        function = self._state.viewer_function(arn)
        entries = self._state.kvs_entries(function.kvs_arn) if function.kvs_arn else None
        event = viewer_function.viewer_request_event(viewer, **context)

        def failed(error: str, logs: list[str]) -> _Answered:
            bound.error(
                "edge.function_failed", function=function.name, error=error, function_logs=logs
            )
            return _Answered(
                cf_errors.error_page(
                    503,
                    cf_errors.FUNCTION_FAILED,
                    context["request_id"],
                    f"{function.name}: {error}",
                )
            )

        try:
            run = self._functions.run(function.code, event, entries)
        except HarnessError as exc:
            raise failed(str(exc), []) from exc
        if run.error is not None:
            raise failed(run.error, run.logs)
        bound.info(
            "edge.function_ran",
            function=function.name,
            function_logs=run.logs,
            origin_changes=len(run.origin_changes),
            duration_ms=round(run.duration_ms, 2),
        )
        try:
            output = run.output or {}
            if viewer_function.is_response(output):
                raise _Answered(viewer_function.response_from_function(output))
            forward = viewer_function.forward_from_function(output, viewer)
            changed = viewer_function.apply_origin_changes(origin, run.origin_changes, origins)
        except viewer_function.FunctionResultInvalid as exc:
            raise failed(str(exc), run.logs) from exc
        return forward, changed

    def _lambda(
        self,
        association: Mapping[str, Any],
        event_type: str,
        forward: ForwardRequest,
        origin: OriginTarget,
        client_ip: str,
        context: Mapping[str, str],
        bound: FilteringBoundLogger,
    ) -> tuple[ForwardRequest, OriginTarget]:
        arn = str(association["LambdaFunctionARN"])
        request_id = context["request_id"]
        version = self._state.lambda_version(arn)
        event = origin_lambda.request_event(
            forward,
            origin,
            event_type=event_type,
            include_body=bool(association.get("IncludeBody")),
            client_ip=client_ip,
            **context,
        )
        run_error: str | None
        try:
            run = self._lambdas.invoke(version, event)
        except HarnessError as exc:
            run_error, logs = str(exc), []
        else:
            run_error, logs = run.error, run.logs
        if run_error is not None:
            bound.error(
                "edge.lambda_failed",
                function=arn,
                event_type=event_type,
                error=run_error,
                function_logs=logs,
            )
            raise _Answered(
                cf_errors.error_page(
                    503, cf_errors.LAMBDA_FAILED, request_id, f"{arn}: {run_error}"
                )
            )
        bound.info(
            "edge.lambda_ran",
            function=arn,
            event_type=event_type,
            function_logs=run.logs,
            duration_ms=round(run.duration_ms, 1),
        )
        try:
            output = run.output
            if isinstance(output, Mapping) and origin_lambda.is_response(output):
                raise _Answered(origin_lambda.response_from_lambda(output))
            return origin_lambda.forward_from_lambda(output, forward, origin, event_type)
        except origin_lambda.LambdaResultInvalid as exc:
            bound.error(
                "edge.lambda_invalid_result", function=arn, error=str(exc), function_logs=run.logs
            )
            raise _Answered(
                cf_errors.error_page(
                    502, cf_errors.LAMBDA_INVALID.format(reason=exc), request_id, f"{arn}: {exc}"
                )
            ) from exc

    # -- the origin ------------------------------------------------------------------------

    def _backend_for(
        self, origin: OriginTarget, request_id: str, bound: FilteringBoundLogger
    ) -> BackendAddress:
        backend = self._backends.address(origin.domain_name)
        if backend is None:
            # A reconcile pass may have introduced a domain since the edge started.
            self._backends.serve(self._state.origin_domains())
            backend = self._backends.address(origin.domain_name)
        if backend is None:
            detail = (
                f"origin {origin.domain_name} is not served locally: it appears nowhere in the "
                "sandbox's state (distribution origins, KeyValueStore values, table backends), "
                "and the local edge never connects outside"
            )
            bound.warning("edge.unknown_origin", origin=origin.domain_name)
            raise _Answered(
                cf_errors.error_page(502, cf_errors.ORIGIN_UNREACHABLE, request_id, detail)
            )
        return backend

    def _proxy(
        self,
        forward: ForwardRequest,
        origin: OriginTarget,
        backend: BackendAddress,
        client_ip: str,
        context: Mapping[str, str],
    ) -> EdgeResponse:
        headers = [(k, v) for k, v in forward.headers if k.lower() not in _HOP_BY_HOP]
        headers.extend(origin.custom_headers)
        forwarded_for = next(
            (v for k, v in forward.headers if k.lower() == "x-forwarded-for"), None
        )
        headers = [(k, v) for k, v in headers if k.lower() not in {"x-forwarded-for", "via"}]
        headers += [
            ("Host", forward.host or origin.domain_name),
            ("Via", cf_errors.via(context["distribution_domain"])),
            ("X-Amz-Cf-Id", context["request_id"]),
            ("X-Forwarded-For", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip),
            ("Content-Length", str(len(forward.body))),
        ]
        target = origin.path + forward.uri + (f"?{forward.query}" if forward.query else "")
        connection = http.client.HTTPConnection(
            backend.host, backend.port, timeout=origin.read_timeout
        )
        try:
            connection.putrequest(forward.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(forward.body or None)
            reply = connection.getresponse()
            body = reply.read()
        except OSError as exc:
            raise _Answered(
                cf_errors.error_page(
                    502, cf_errors.ORIGIN_UNREACHABLE, context["request_id"], str(exc)
                )
            ) from exc
        finally:
            connection.close()
        kept = tuple((k, v) for k, v in reply.getheaders() if k.lower() not in _HOP_BY_HOP)
        return EdgeResponse(reply.status, reply.reason, kept, body)
