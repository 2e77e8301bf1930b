"""Access log and request metrics, and the last word on a crash."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway._context import request_context
from tickhub.gateway._metrics import HttpMetrics
from tickhub.gateway.paths import normalize
from tickhub.gateway.router import RouteTemplates
from tickhub.problems import Envelopes

access_log = logging.getLogger("tickhub.access")


class AccessLine:
    """One access-log line, kept as its fields and turned into JSON text only when a
    handler reads the record's message: the queued handler of `logging_config` does that
    in its writer thread, off the request path."""

    __slots__ = ("bytes", "client", "duration_ms", "method", "request_id", "route", "status",
                 "wall")  # fmt: skip

    def __init__(
        self,
        *,
        wall: float,
        request_id: str | None,
        method: str,
        route: str,
        status: int,
        duration_ms: float,
        client: str | None,
        sent: int,
    ) -> None:
        self.wall = wall
        self.request_id = request_id
        self.method = method
        self.route = route
        self.status = status
        self.duration_ms = duration_ms
        self.client = client
        self.bytes = sent

    def __str__(self) -> str:
        moment = datetime.fromtimestamp(self.wall, UTC).isoformat(timespec="milliseconds")
        line = {
            "time": moment.replace("+00:00", "Z"),
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "client": self.client,
            "bytes": self.bytes,
        }
        return orjson.dumps(line).decode()


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
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                line = AccessLine(
                    wall=time.time(),
                    request_id=ctx.request_id if ctx else None,
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=elapsed * 1000,
                    client=client[0] if client else None,
                    sent=sent,
                )
                access_log.info(line)
