"""Errors the framework raises itself (no route, wrong method, an unreadable body) in the
envelope of the path, like every other error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tickhub.problems import Envelopes


def http_errors(envelopes: Envelopes) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The handler of `HTTPException`s, answering in the envelope of the path."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        headers = dict(exc.headers) if exc.headers else None
        if status < 400 or status in {204, 304}:
            return Response(status_code=status, headers=headers)
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        detail = exc.detail if isinstance(exc.detail, str) else title
        return envelopes.error(request.url.path, status, title, detail, headers=headers)

    return http_error
