"""Each seed contract answers a domain error in its own envelope, whether a route or one of
its dependencies raised it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.responses import Response

from tickhub.accounts import errors as accounts
from tickhub.common import errors as kinds
from tickhub.compat import crypto_ticker, predico, prices_tracker, trading_datastore
from tickhub.compat._envelopes import SEED_VALIDATION_MESSAGE
from tickhub.compat.trading_datastore._datasets import error_response


def _json(response: Response) -> Any:
    return json.loads(bytes(response.body))


@pytest.mark.parametrize(
    ("envelope", "body"),
    [
        (crypto_ticker.ENVELOPE, {"detail": "unknown instrument"}),
        (prices_tracker.ENVELOPE, {"error": "unknown instrument"}),
        (trading_datastore.ENVELOPE, {"error": "unknown instrument"}),
    ],
)
def test_a_seed_answers_in_its_body_with_the_status_of_the_kind(envelope: Any, body: Any) -> None:
    response = envelope.domain_error(kinds.NotFound("unknown instrument", field="symbol"))
    assert (response.status_code, _json(response)) == (404, body)
    unauthorized = envelope.domain_error(accounts.NotAuthenticated("no credentials"))
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"] == 'Bearer realm="api"'


def test_seed_003_answers_409_for_what_it_cannot_find() -> None:
    response = predico.ENVELOPE.domain_error(accounts.NotFound("Resource ID not found."))
    assert response.status_code == 409
    assert _json(response) == {
        "code": 409,
        "data": None,
        "status": "error",
        "message": "Resource ID not found.",
    }


def test_seed_003_puts_the_field_errors_of_a_400_in_data() -> None:
    error = accounts.Invalid("email: taken", errors={"email": ["taken"], "password": ["short"]})
    response = predico.ENVELOPE.domain_error(error)
    assert response.status_code == 400
    assert _json(response) == {
        "code": 400,
        "data": {"email": ["taken"], "password": ["short"]},
        "status": "error",
        "message": SEED_VALIDATION_MESSAGE,
    }
    # the seed's own data when it had some; the field's message for another context's
    query = accounts.Invalid("Query param 'user' must be a valid uuid.", seed_data=["bad"])
    assert _json(predico.ENVELOPE.domain_error(query))["data"] == ["bad"]
    other = kinds.Invalid("limit must be a whole number", field="limit")
    assert _json(predico.ENVELOPE.domain_error(other))["data"] == {
        "limit": ["limit must be a whole number"]
    }


def test_seed_003_says_how_to_authenticate() -> None:
    response = predico.ENVELOPE.domain_error(accounts.InvalidCredentials("token not valid"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert _json(response)["message"] == "token not valid"


def test_data_sets_name_the_field_when_there_is_one() -> None:
    bad = error_response(kinds.Invalid("end must be after start", field="end"))
    assert (bad.status_code, _json(bad)) == (
        400,
        {"error": "end must be after start", "field": "end"},
    )
    unauthenticated = error_response(accounts.NotAuthenticated("no credentials"))
    assert (unauthenticated.status_code, _json(unauthenticated)) == (
        401,
        {"error": "no credentials"},
    )


def signed_in() -> None:
    raise accounts.NotAuthenticated("Authentication credentials were not provided.")


async def test_the_route_class_answers_errors_of_routes_and_their_dependencies() -> None:
    router = APIRouter(route_class=trading_datastore.ENVELOPE.route_class())

    @router.get("/session/{session_id}")
    async def session(session_id: str) -> None:
        raise kinds.NotFound(f"no session {session_id}", field="session_id")

    @router.get("/session")
    async def sessions(_user: Annotated[None, Depends(signed_in)]) -> None:
        raise AssertionError("not reached")

    app = FastAPI()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        r = await client.get("/session/7")
        assert (r.status_code, r.json()) == (404, {"error": "no session 7"})
        r = await client.get("/session")
        assert r.status_code == 401
        assert r.json() == {"error": "Authentication credentials were not provided."}
        assert r.headers["www-authenticate"] == 'Bearer realm="api"'
