"""Access log and request metrics, and the last word on a crash."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway._access import AccessFields, AccessLine
from tickhub.gateway._context import request_context
from tickhub.gateway._logs import QueuedStreamHandler
from tickhub.gateway._metrics import HttpMetrics
from tickhub.gateway.paths import normalize
from tickhub.gateway.router import RouteTemplates
from tickhub.problems import Envelopes

access_log = logging.getLogger("tickhub.access")
_INFO = logging.INFO


def log_access(fields: AccessFields) -> None:
    """Logs one access line on `tickhub.access` (the caller checked it is enabled for
    INFO). When the logger's one handler is the queued writer of `logging_config` and
    nothing else would see the record (no propagation, no logger filter, only redaction
    on the handler), the fields go straight to its queue, without a `LogRecord`;
    otherwise an `AccessLine` record is logged, which every handler reads as the same
    text."""
    log = access_log
    handlers = log.handlers
    if (
        len(handlers) == 1
        and type(writer := handlers[0]) is QueuedStreamHandler
        and writer.takes_fields
        and writer.level <= _INFO
        and not log.propagate
        and not log.filters
    ):
        writer.put_fields(fields)
    else:
        log.info(AccessLine(fields))


class TelemetryMiddleware:
    """One JSON access-log line (logger `tickhub.access`) and one metrics observation per
    request. The line holds the route template, never the raw path or query string, and
    no body or header: ids and tokens travel there.

    A route that crashes before answering gets a 500 in its path's envelope here, so the
    response still carries the request id and the security headers; the exception goes
    on up to be logged by the server."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, route_of: RouteTemplates, envelopes: Envelopes
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of
        self.envelopes = envelopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        ctx = request_context(scope)
        # what routing may rewrite on the way down (the template is matched against these)
        method, path, root_path = scope["method"], scope["path"], scope.get("root_path", "")
        status = 0
        sent = 0

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            if status == 0:
                response = self.envelopes.error(
                    path,
                    500,
                    "Internal Server Error",
                    "the server failed to answer; the request id names it in the server log",
                )
                await response(scope, receive, observed_send)
            raise
        finally:
            elapsed = time.perf_counter() - started_at
            answered = ctx.route if ctx else None
            route = self.route_of.only(answered) if answered is not None else None
            if route is None:
                request = {
                    "type": "http",
                    "method": method,
                    "path": normalize(path),
                    "root_path": root_path,
                    "headers": scope.get("headers", []),
                }
                route = self.route_of(answered, request)
            self.metrics.observe(method, route, status, elapsed)
            if access_log.isEnabledFor(_INFO):
                client = scope.get("client")
                log_access((
                    time.time(),
                    ctx.request_id if ctx else None,
                    method,
                    route,
                    status,
                    elapsed * 1000,
                    client[0] if client else None,
                    sent,
                ))  # fmt: skip
