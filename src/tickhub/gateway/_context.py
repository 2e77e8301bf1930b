"""The request id and the per-request record the other gateway layers share."""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_RAW_HEADER = b"x-request-id"
_CONTEXT_KEY = "tickhub.gateway"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_current_id: ContextVar[str | None] = ContextVar("tickhub_request_id", default=None)


@dataclass(slots=True)
class RequestContext:
    """Kept in the ASGI scope by reference, so it survives layers that copy the scope."""

    request_id: str
    route: BaseRoute | None = None  # the route that answered, filled in after routing


def request_context(scope: Scope) -> RequestContext | None:
    ctx: RequestContext | None = scope.get(_CONTEXT_KEY)
    return ctx


def current_request_id() -> str | None:
    """The id of the request being served (for log lines written inside a route)."""
    return _current_id.get()


class _Ids:
    """New request ids: 32 lowercase hex digits (the shape of a uuid4's hex), a random
    64-bit prefix drawn once per process followed by a 64-bit counter. Unique within a
    process by the counter, and across processes and workers by the prefix (drawn again
    in a forked child), at a fraction of a uuid4's cost (no system call per request)."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _Ids()
os.register_at_fork(after_in_child=_ids.reseed)


def new_request_id() -> str:
    return _ids.new()


def accept_request_id(value: str | None) -> str:
    """A client's `X-Request-ID` when it is sane (≤ 128 of `[A-Za-z0-9._-]`), else a new one."""
    if value is not None and _VALID_ID.fullmatch(value):
        return value
    return _ids.new()


class RequestIdMiddleware:
    """Gives every HTTP request an id and puts it on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == _RAW_HEADER:
                incoming = value.decode("latin-1")
                break
        request_id = accept_request_id(incoming)
        scope[_CONTEXT_KEY] = RequestContext(request_id)
        raw_id = (_RAW_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # ours replaces any the route set (ASGI response header names are
                # lowercase); the list is copied, not changed in place
                headers = list(message.get("headers", ()))
                if any(name == _RAW_HEADER for name, _ in headers):
                    headers = [h for h in headers if h[0] != _RAW_HEADER]
                headers.append(raw_id)
                message["headers"] = headers
            await send(message)

        token = _current_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current_id.reset(token)


class RouteCaptureMiddleware:
    """The innermost layer: notes which route the router chose, whose template (never the
    raw path, which may hold ids and tokens) labels the access log and the metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            ctx = request_context(scope)
            if ctx is not None:
                ctx.route = scope.get("route")
