"""Access log and request metrics, and the last word on a crash."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway._context import request_context
from tickhub.gateway._metrics import HttpMetrics
from tickhub.gateway.paths import normalize
from tickhub.problems import Envelopes

RouteOf = Callable[[BaseRoute | None, Scope], str]

access_log = logging.getLogger("tickhub.access")


class TelemetryMiddleware:
    """One JSON access-log line (logger `tickhub.access`) and one metrics observation per
    request. The line holds the route template, never the raw path or query string, and
    no body or header: ids and tokens travel there.

    A route that crashes before answering gets a 500 in its path's envelope here, so the
    response still carries the request id and the security headers; the exception goes
    on up to be logged by the server."""

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics, route_of: RouteOf, envelopes: Envelopes
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
        request = {
            "type": "http",
            "method": scope["method"],
            "path": normalize(scope["path"]),
            "root_path": scope.get("root_path", ""),
            "headers": scope.get("headers", []),
        }
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
                    scope["path"],
                    500,
                    "Internal Server Error",
                    "the server failed to answer; the request id names it in the server log",
                )
                await response(scope, receive, observed_send)
            raise
        finally:
            elapsed = time.perf_counter() - started_at
            route = self.route_of(ctx.route if ctx else None, request)
            self.metrics.observe(scope["method"], route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                line = {
                    "time": datetime.now(UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "request_id": ctx.request_id if ctx else None,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "client": client[0] if client else None,
                    "bytes": sent,
                }
                access_log.info(orjson.dumps(line).decode())
