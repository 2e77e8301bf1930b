"""Seed 000's trading sessions and their transactions, with the seed's shapes and
`{"error": ...}` bodies.

Seed paths read their bodies themselves, so that a missing field is the seed's 400
`{"error": "Missing required field(s)."}` and a non-integer id is a 404 (the seed's was a
500). Transactions answer at `/transaction` (the README's path) and `/transactions` (the
original code's).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tickhub.accounts.deps import CurrentUser
from tickhub.compat.trading_datastore._envelope import ENVELOPE
from tickhub.sessions import service
from tickhub.sessions.deps import SessionsUowDep
from tickhub.sessions.errors import Invalid, NotFound
from tickhub.sessions.schemas import number, seed_time

MAX_LIMIT = 100
BAD_LIMIT = "Invalid value for limit. Limit argument must be an integer."
BAD_OFFSET = "Invalid value for offset. Offset argument must be an integer."

router = APIRouter(tags=["sessions (seed 000)"], route_class=ENVELOPE.route_class())


# ---------------------------------------------------------------- request helpers


def _body_doc(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": example}},
        }
    }


async def _json(request: Request) -> object:
    """The body as JSON, with numbers that are not integers as exact `Decimal`s."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"The request body is not valid JSON: {exc}", field="body") from None


def _id(value: str, message: str, field: str) -> int:
    """Ids are positive integers; anything else names nothing (404)."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
        raise NotFound(message, field=field)
    return int(value)


def _page(request: Request) -> tuple[int, int]:
    """The seed's `limit` (default and maximum 100) and `offset` query arguments."""
    args = request.query_params
    try:
        limit = int(args.get("limit", MAX_LIMIT))
    except ValueError:
        raise Invalid(BAD_LIMIT, field="limit") from None
    try:
        offset = int(args.get("offset", 0))
    except ValueError:
        raise Invalid(BAD_OFFSET, field="offset") from None
    if limit < 1:
        raise Invalid("Invalid value for limit. Limit must be at least 1.", field="limit")
    if offset < 0:
        raise Invalid("Invalid value for offset. Offset must not be negative.", field="offset")
    return min(limit, MAX_LIMIT), offset


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


# ---------------------------------------------------------------- seed shapes


def _session_body(view: service.SessionView, base: str, *, detail: bool = False) -> dict[str, Any]:
    r = view.record
    url = f"{base}/session/{r.id}"
    out: dict[str, Any] = {
        "coins_bought": number(view.figure("coins_bought")),  # type: ignore[arg-type]
        "coins_sold": number(view.figure("coins_sold")),  # type: ignore[arg-type]
        "crypto_type": r.crypto_type,
        "ending_balance": number(view.figure("ending_balance")),  # type: ignore[arg-type]
        "ending_coins": number(view.figure("ending_coins")),  # type: ignore[arg-type]
        "id": r.id,
        "model_name": r.model_name,
        "number_of_trades": view.figure("number_of_trades"),
        "self": url,
        "session_end": seed_time(r.session_end),
        "session_name": r.session_name,
        "session_start": seed_time(r.session_start),
        "starting_balance": number(r.starting_balance),
        "starting_coins": number(r.starting_coins),
        "type": r.type,
    }
    if detail:
        out["transaction_total"] = view.transaction_total
        out["transaction_url"] = f"{url}/transaction"
    if view.derived is not None:
        d = view.derived
        out["derived"] = {
            "coins_bought": number(d.coins_bought),
            "coins_sold": number(d.coins_sold),
            "number_of_trades": d.number_of_trades,
            "ending_coins": number(d.ending_coins),
            "ending_balance": number(d.ending_balance),
            "profit_loss": number(d.profit_loss),
            "disagrees": view.disagrees,
        }
    return out


def _transaction_body(t: service.TransactionRecord, base: str) -> dict[str, Any]:
    return {
        "amount": number(t.amount),
        "crypto_type": t.crypto_type,
        "id": t.id,
        "self": f"{base}/session/{t.session_id}/transaction/{t.id}",
        "session_id": t.session_id,
        "step": t.step,
        "transaction_date_time": seed_time(t.transaction_date_time),
        "transaction_id": t.id,
        "type": t.type,
        "value": number(t.value),
    }


# ---------------------------------------------------------------- sessions

SESSION_EXAMPLE = {
    "session_name": "test_session_name",
    "type": "test_session",
    "model_name": "test_model",
    "starting_balance": 1000.0,
    "starting_coins": 0.0,
    "crypto_type": "BTCUSDT",
}


@router.get("/session", summary="The caller's sessions, a page at a time")
async def list_sessions(request: Request, principal: CurrentUser, uow: SessionsUowDep) -> Response:
    """`{next, total, sessions}`; `limit` (default and maximum 100) and `offset`; `next`
    is the link to the following page, or "" on the last one. An admin sees everyone's."""
    limit, offset = _page(request)
    views, total = await service.list_sessions(uow, principal, limit=limit, offset=offset)
    base = _base(request)
    more = offset + limit < total
    return JSONResponse(
        {
            "next": f"{base}/session?limit={limit}&offset={offset + limit}" if more else "",
            "total": total,
            "sessions": [_session_body(v, base) for v in views],
        }
    )


@router.post(
    "/session",
    status_code=201,
    summary="Create a session",
    openapi_extra=_body_doc(SESSION_EXAMPLE),
)
async def create_session(request: Request, principal: CurrentUser, uow: SessionsUowDep) -> Response:
    """Required: session_name, type, starting_balance, starting_coins, crypto_type.
    `session_start` defaults to now (UTC, `MM/DD/YYYY, HH:MM:SS`); other fields to null.
    Optional `model_id` links a model record (`/v1/models`)."""
    view = await service.create_session(uow, principal, await _json(request))
    return JSONResponse(_session_body(view, _base(request)), status_code=201)


@router.get("/session/{session_id}", summary="One session, with its transaction count")
async def get_session(
    session_id: str, request: Request, principal: CurrentUser, uow: SessionsUowDep
) -> Response:
    sid = _id(session_id, service.NO_SESSION, "session_id")
    view = await service.get_session(uow, principal, sid)
    return JSONResponse(_session_body(view, _base(request), detail=True))


@router.patch(
    "/session/{session_id}",
    summary="Change a session's editable fields",
    openapi_extra=_body_doc({"ending_balance": 800.0, "ending_coins": 5.0}),
)
async def patch_session(
    session_id: str, request: Request, principal: CurrentUser, uow: SessionsUowDep
) -> Response:
    """Only the fields sent change; `id` and `self` never do. A figure set to null goes
    back to being derived from the transactions."""
    sid = _id(session_id, service.NO_SESSION, "session_id")
    view = await service.patch_session(uow, principal, sid, await _json(request))
    return JSONResponse(_session_body(view, _base(request)))


@router.delete("/session/{session_id}", status_code=204, summary="Delete a session")
async def delete_session(session_id: str, principal: CurrentUser, uow: SessionsUowDep) -> Response:
    """Deletes the session and its transactions."""
    sid = _id(session_id, service.NO_SESSION, "session_id")
    await service.delete_session(uow, principal, sid)
    return Response(status_code=204)


# ---------------------------------------------------------------- transactions

TRANSACTION_EXAMPLE = {
    "type": "Purchase",
    "crypto_type": "BTCUSDT",
    "amount": 0.5,
    "value": 11000.0,
    "transaction_date_time": "02/15/2023, 19:00:00",
    "step": 1,
}


async def _list_transactions(
    session_id: str, request: Request, principal: CurrentUser, uow: SessionsUowDep
) -> Response:
    """`{self, next, total_transactions, transactions}` by step; `total_transactions`
    counts all of the session's transactions, `next` is null on the last page."""
    sid = _id(session_id, service.NO_SESSION, "session_id")
    limit, offset = _page(request)
    page, total = await service.list_transactions(uow, principal, sid, limit=limit, offset=offset)
    base = _base(request)
    url = f"{base}/session/{sid}/transaction"
    more = offset + limit < total
    return JSONResponse(
        {
            "self": url,
            "next": f"{url}?limit={limit}&offset={offset + limit}" if more else None,
            "total_transactions": total,
            "transactions": [_transaction_body(t, base) for t in page],
        }
    )


async def _create_transaction(
    session_id: str, request: Request, principal: CurrentUser, uow: SessionsUowDep
) -> Response:
    """Required: type (Purchase or Sale), amount (> 0), value (>= 0). `crypto_type`
    defaults to the session's, `transaction_date_time` to now; `step` is optional."""
    sid = _id(session_id, service.NO_SESSION, "session_id")
    created = await service.create_transaction(uow, principal, sid, await _json(request))
    return JSONResponse(_transaction_body(created, _base(request)), status_code=201)


async def _get_transaction(
    session_id: str,
    transaction_id: str,
    request: Request,
    principal: CurrentUser,
    uow: SessionsUowDep,
) -> Response:
    sid = _id(session_id, service.NO_SESSION, "session_id")
    tid = _id(transaction_id, service.NO_TRANSACTION, "transaction_id")
    found = await service.get_transaction(uow, principal, sid, tid)
    return JSONResponse(_transaction_body(found, _base(request)))


async def _patch_transaction(
    session_id: str,
    transaction_id: str,
    request: Request,
    principal: CurrentUser,
    uow: SessionsUowDep,
) -> Response:
    sid = _id(session_id, service.NO_SESSION, "session_id")
    tid = _id(transaction_id, service.NO_TRANSACTION, "transaction_id")
    body = await _json(request)
    updated = await service.patch_transaction(uow, principal, sid, tid, body)
    return JSONResponse(_transaction_body(updated, _base(request)))


async def _delete_transaction(
    session_id: str, transaction_id: str, principal: CurrentUser, uow: SessionsUowDep
) -> Response:
    sid = _id(session_id, service.NO_SESSION, "session_id")
    tid = _id(transaction_id, service.NO_TRANSACTION, "transaction_id")
    await service.delete_transaction(uow, principal, sid, tid)
    return Response(status_code=204)


for _path, _hidden in (("transaction", False), ("transactions", True)):
    _list = f"/session/{{session_id}}/{_path}"
    _item = f"{_list}/{{transaction_id}}"
    router.add_api_route(
        _list,
        _list_transactions,
        methods=["GET"],
        summary="A session's transactions",
        include_in_schema=not _hidden,
    )
    router.add_api_route(
        _list,
        _create_transaction,
        methods=["POST"],
        status_code=201,
        summary="Record a transaction",
        openapi_extra=_body_doc(TRANSACTION_EXAMPLE),
        include_in_schema=not _hidden,
    )
    router.add_api_route(
        _item,
        _get_transaction,
        methods=["GET"],
        summary="One transaction",
        include_in_schema=not _hidden,
    )
    router.add_api_route(
        _item,
        _patch_transaction,
        methods=["PATCH"],
        summary="Change a transaction",
        openapi_extra=_body_doc({"value": 10500.0}),
        include_in_schema=not _hidden,
    )
    router.add_api_route(
        _item,
        _delete_transaction,
        methods=["DELETE"],
        status_code=204,
        summary="Delete a transaction",
        include_in_schema=not _hidden,
    )
