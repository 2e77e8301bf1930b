"""The one mapping from a domain error's kind to its HTTP status, and the problem document
of `/v1`."""

from __future__ import annotations

import json

import pytest
from starlette.responses import Response

from tickhub.accounts import errors as accounts
from tickhub.alerts import service as alerts
from tickhub.common import errors as kinds
from tickhub.marketdata import service as marketdata
from tickhub.marketdata.coinmarketcap import service as cmc
from tickhub.problems import PROBLEM_JSON, Envelopes, domain_problem, status_of
from tickhub.sessions import errors as sessions
from tickhub.sessions.datasets._definition import DatasetConflict, DatasetInvalid, DatasetNotFound
from tickhub.sessions.datasets._formats import NotAcceptable


@pytest.mark.parametrize(
    ("error", "code", "title"),
    [
        (kinds.DomainError("no"), 400, "Bad Request"),
        (kinds.Invalid("no"), 400, "Bad Request"),
        (kinds.Unprocessable("no"), 422, "Unprocessable Content"),
        (kinds.Unauthorized("no"), 401, "Unauthorized"),
        (kinds.Forbidden("no"), 403, "Forbidden"),
        (kinds.NotFound("no"), 404, "Not Found"),
        (kinds.NotAcceptable("no"), 406, "Not Acceptable"),
        (kinds.Conflict("no"), 409, "Conflict"),
        (kinds.Unavailable("no"), 503, "Service Unavailable"),
    ],
)
def test_each_kind_has_one_status(error: kinds.DomainError, code: int, title: str) -> None:
    assert status_of(error) == (code, title)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        # each context's errors answer as the kind they derive from
        (accounts.Invalid("weak", field="password"), 400),
        (accounts.InvalidCredentials("forged"), 401),
        (accounts.Forbidden("admins only"), 403),
        (accounts.NotFound("no such user", field="user"), 404),
        (accounts.Conflict("taken", field="email"), 409),
        (accounts.Unavailable("no database"), 503),
        (sessions.Invalid("bad", field="limit"), 400),
        (sessions.NotFound("gone", field="session_id"), 404),
        (sessions.Conflict("taken", field="version"), 409),
        (alerts.Invalid("bad", field="interval"), 422),
        (alerts.NotFound("gone", field="strategy_id"), 404),
        (alerts.Conflict("taken", field="name"), 409),
        (marketdata.InvalidParameter("bad", field="start"), 400),
        (marketdata.UnknownInstrument("unknown", field="symbol"), 404),
        (marketdata.UnknownExchange("unknown", field="exchange"), 404),
        (cmc.NotFound("none", field="coin"), 404),
        (DatasetInvalid("bad", field="interval"), 400),
        (DatasetNotFound("gone", field="data_label"), 404),
        (DatasetConflict("two owners", field="owner"), 409),
        (NotAcceptable("acceptable types: ...", field="Accept"), 406),
    ],
)
def test_context_errors_take_the_status_of_their_kind(error: kinds.DomainError, code: int) -> None:
    assert status_of(error).code == code
    assert domain_problem(error).status_code == code


def _body(error: kinds.DomainError) -> dict[str, object]:
    response = domain_problem(error)
    assert response.media_type == PROBLEM_JSON
    body: dict[str, object] = json.loads(bytes(response.body))
    return body


def test_problem_names_the_field_when_there_is_one() -> None:
    assert _body(marketdata.InvalidParameter("start must be before end", field="start")) == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "start must be before end",
        "field": "start",
    }
    assert "field" not in _body(accounts.Forbidden("admins only"))


def test_problem_carries_the_details() -> None:
    error = alerts.Invalid("invalid condition", field="condition", position=3, reason="what")
    body = _body(error)
    assert list(body) == ["type", "title", "status", "detail", "field", "position", "reason"]
    assert (body["status"], body["position"], body["reason"]) == (422, 3, "what")
    # several messages of one field are listed; one message is the detail alone
    weak = accounts.Invalid("too short", errors={"password": ["too short", "too common"]})
    assert _body(weak)["errors"] == [
        {"field": "password", "message": "too short"},
        {"field": "password", "message": "too common"},
    ]
    assert "errors" not in _body(accounts.Invalid("too short", field="password"))


def test_a_401_says_how_to_authenticate() -> None:
    response = domain_problem(accounts.NotAuthenticated("no credentials"))
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    assert "www-authenticate" not in domain_problem(accounts.Forbidden("no")).headers


class _Envelope:
    def __init__(self, *roots: str) -> None:
        self.roots = roots

    def error(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> Response:
        return Response(detail, status_code=status, headers=headers)


def test_a_path_root_has_one_envelope() -> None:
    with pytest.raises(ValueError, match="/api"):
        Envelopes([_Envelope("/api"), _Envelope("/session", "/api")])
    a, b = _Envelope("/api"), _Envelope("/api/current_price")
    envelopes = Envelopes([a, b])
    assert envelopes.of("/api/current_price/") is b
    assert envelopes.of("/api/current_prices") is a
    assert envelopes.of("/apiary") is None
    assert envelopes.error("/api/token", 429, "Too Many Requests", "later").body == b"later"
    assert envelopes.error("/v1", 429, "Too Many Requests", "later").media_type == PROBLEM_JSON
