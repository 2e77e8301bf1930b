"""The request body size limit (the rate limits are in `_rates`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickhub.gateway.paths import is_bulk_path
from tickhub.problems import Envelopes


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
