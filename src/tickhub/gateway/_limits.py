"""Request body size and request rate limits."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway.paths import RouteClass, classify, is_bulk_path
from tickhub.problems import Envelopes
from tickhub.settings import GatewaySettings


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with 413: at once when Content-Length says
    so, before anything is read; otherwise by counting the bytes as they stream in
    (chunked bodies). Whatever the route made of the interrupted read, the client gets
    the 413."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, envelopes: Envelopes, bulk_max_bytes: int = 0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Bulk uploads (`paths.BULK_PATHS`) may be larger.
        self.bulk_max_bytes = max(max_bytes, bulk_max_bytes)
        self.envelopes = envelopes

    def _limit(self, scope: Scope) -> int:
        return self.bulk_max_bytes if is_bulk_path(scope.get("path", "")) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await self._reply(scope, receive, send, 400, "Bad Request", "invalid Content-Length")
            return
        limit = self._limit(scope)
        if declared is not None and declared > limit:
            await self._too_large(scope, receive, send)
            return

        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                raise _BodyTooLarge  # the route answered the broken read; ours replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large or started:
                raise
        if too_large and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than the limit of {self._limit(scope)} bytes"
        await self._reply(scope, receive, send, 413, "Content Too Large", detail)

    async def _reply(
        self, scope: Scope, receive: Receive, send: Send, status: int, title: str, detail: str
    ) -> None:
        # The rest of the body stays unread: the connection cannot be reused.
        headers = {"Connection": "close"}
        response = self.envelopes.error(scope["path"], status, title, detail, headers=headers)
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when unreadable."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                n = int(value)
            except ValueError:
                return -1
            return n if n >= 0 else -1
    return None


def rate_limits(settings: GatewaySettings) -> dict[RouteClass, list[RateLimitItem]]:
    """The configured limits per route class; a class without limits is absent."""
    configured = {
        RouteClass.LOGIN: settings.rate_limit_login,
        RouteClass.REGISTRATION: settings.rate_limit_registration,
        RouteClass.WRITES: settings.rate_limit_writes,
        RouteClass.READS: settings.rate_limit_reads,
    }
    return {cls: parse_many(text) for cls, text in configured.items() if text}


class RateLimitMiddleware:
    """Moving-window rate limits per client address and route class (login, registration,
    other writes, reads), held in memory. Over the limit: 429 with `Retry-After` seconds."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Mapping[RouteClass, Sequence[RateLimitItem]],
        envelopes: Envelopes,
    ) -> None:
        self.app = app
        self.limits = dict(limits)
        self.envelopes = envelopes
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route_class = classify(scope["method"], scope["path"])
        items = self.limits.get(route_class)
        if items:
            client = scope.get("client")
            key = str(client[0]) if client else "unknown"
            for item in items:
                if not await self.limiter.hit(item, route_class.value, key):
                    await self._refuse(scope, receive, send, route_class, item, key)
                    return
        await self.app(scope, receive, send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route_class: RouteClass,
        item: RateLimitItem,
        key: str,
    ) -> None:
        stats = await self.limiter.get_window_stats(item, route_class.value, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        detail = (
            f"too many requests: the limit for {route_class.value} is {item}; "
            f"retry in {retry_after} s"
        )
        response = self.envelopes.error(
            scope["path"],
            429,
            "Too Many Requests",
            detail,
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
