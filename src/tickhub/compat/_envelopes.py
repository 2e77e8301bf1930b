"""The seeds' envelopes. Each compat module declares one `SeedEnvelope`: the path roots it
owns and the body its seed wrote errors in. Its routers take the envelope's route class,
so a domain error raised by one of its routes (its dependencies included: the app-wide
authentication) answers in the seed's envelope; `create_app` collects the envelopes, so
that an error raised outside any route (a gateway limit, an unknown path, a crash) under
those roots does too (`tickhub.problems.Envelopes`).

Bodies: Flask (seeds 000 and 001) `{"error": ...}`, Django REST framework (seed 004)
`{"detail": ...}`, and seed 003's `{"code", "data"}` / `{"code", "data", "status":
"error", "message"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tickhub.common.errors import DomainError
from tickhub.problems import challenge, status_of

Body = Callable[[int, str], Any]
"""A seed's error body for a status and a message."""
Render = Callable[[DomainError], Response]
"""How a seed answers a domain error raised by one of its routes."""


@dataclass(frozen=True, slots=True)
class SeedEnvelope:
    """A seed contract's envelope: its path roots and its error body. A domain error
    answers with its kind's status (`tickhub.problems.status_of`) and its message in that
    body, unless `render` says otherwise (seed 003's quirks)."""

    roots: tuple[str, ...]
    body: Body
    render: Render | None = None

    def error(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        return JSONResponse(self.body(status, detail), status_code=status, headers=headers)

    def domain_error(self, exc: DomainError) -> Response:
        if self.render is not None:
            return self.render(exc)
        status = status_of(exc).code
        return self.error(status, exc.message, headers=challenge(status))

    def route_class(self, render: Render | None = None) -> type[APIRoute]:
        """The route class of the envelope's routers; `render` overrides how domain errors
        answer on one router's routes."""
        answer = render or self.domain_error

        class SeedRoute(APIRoute):
            def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
                handler = super().get_route_handler()

                async def handle(request: Request) -> Response:
                    try:
                        return await handler(request)
                    except DomainError as exc:
                        return answer(exc)

                return handle

        return SeedRoute


# ---------------------------------------------------------------- bodies


def flask_body(_status: int, message: str) -> dict[str, Any]:
    """Seeds 000 and 001 (Flask): `{"error": ...}`."""
    return {"error": message}


def drf_body(_status: int, message: str) -> dict[str, Any]:
    """Seed 004 (Django REST framework): `{"detail": ...}`."""
    return {"detail": message}


SEED_VALIDATION_MESSAGE = (
    "Validation error. Please re-check your request parameters or body fields and fix "
    "the errors mentioned in this response 'data' field."
)


def seed_ok(data: Any, status: int = 200) -> JSONResponse:
    """Seed 003 success: `{"code", "data"}`."""
    return JSONResponse({"code": status, "data": data}, status_code=status)


def seed_error(
    status: int,
    *,
    message: str | None = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Seed 003 error: `{"code", "data", "status": "error", "message"}`.

    As the seed's renderer does, a 400 always carries the fixed validation message with
    the field errors in `data`; other errors carry their message and `data: null`.
    """
    return JSONResponse(seed_error_body(status, message, data), status_code=status, headers=headers)


def seed_error_body(status: int, message: str | None, data: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "data": data, "status": "error"}
    if status == 400:
        body["message"] = SEED_VALIDATION_MESSAGE
    elif message is not None:
        body["message"] = message
    return body
