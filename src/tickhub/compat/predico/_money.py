"""Seed 003's money paths: balances, session balances, transactions, fees, price weights
and transfers out. Every user sees only their own money; admins see all (or one user's
with `user`)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tickhub.accounts.deps import AdminUser, CurrentUser
from tickhub.compat._envelopes import seed_ok
from tickhub.compat.predico import _query as q
from tickhub.compat.predico._bodies import body_doc, read
from tickhub.compat.predico._envelope import TAGS, SeedRoute
from tickhub.market import service
from tickhub.market.deps import MarketDep
from tickhub.market.schemas import (
    TransferOutIn,
    seed_balance,
    seed_fee,
    seed_session_balance,
    seed_transaction,
    seed_transfer,
    seed_weight,
)

router = APIRouter(tags=TAGS, route_class=SeedRoute)


@router.get("/api/market/balance", summary="The caller's market balance (admins: all)")
async def balance(
    principal: CurrentUser,
    market: MarketDep,
    balance__gte: str | None = Query(default=None),
    balance__lte: str | None = Query(default=None),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    found = await service.balances(
        market,
        principal,
        user_id=q.user(user, is_admin=principal.is_admin),
        gte=q.amount(balance__gte, "balance__gte"),
        lte=q.amount(balance__lte, "balance__lte"),
    )
    return seed_ok([seed_balance(b) for b in found])


@router.get("/api/market/session-balance", summary="Balances per session (admins: all)")
async def session_balance(
    principal: CurrentUser,
    market: MarketDep,
    market_session: str | None = Query(default=None),
    resource: str | None = Query(default=None),
    balance_by_resource: str | None = Query(
        default=None, description="false: one row per resource (and `resource` filters)"
    ),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    by_resource = q.boolean(balance_by_resource, "balance_by_resource")
    found = await service.session_balances(
        market,
        principal,
        user_id=q.user(user, is_admin=principal.is_admin),
        session_id=q.session_id(market_session),
        resource_id=q.resource(resource),
        by_resource=by_resource is not False,
    )
    rows = [seed_session_balance(b) for b in found]
    if by_resource is not False:
        for row in rows:
            row.pop("resource")
    return seed_ok(rows)


@router.get("/api/market/session-transactions", summary="Transactions (admins: all)")
async def session_transactions(
    principal: CurrentUser,
    market: MarketDep,
    market_session: str | None = Query(default=None),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    found = await service.transactions(
        market,
        principal,
        user_id=q.user(user, is_admin=principal.is_admin),
        session_id=q.session_id(market_session),
    )
    return seed_ok([seed_transaction(t) for t in found])


@router.get("/api/market/session-fee", summary="The market's fee per session (admins)")
async def session_fee(
    _admin: AdminUser, market: MarketDep, market_session: str | None = Query(default=None)
) -> Response:
    found = await service.fees(market, q.session_id(market_session))
    return seed_ok([seed_fee(f) for f in found])


@router.get("/api/market/price-weight", summary="Price-step weights per session (admins)")
async def price_weight(
    _admin: AdminUser, market: MarketDep, market_session: str | None = Query(default=None)
) -> Response:
    found = await service.weights(market, q.session_id(market_session))
    return seed_ok([seed_weight(w) for w in found])


@router.get("/api/market/transfer-out", summary="Transfers out (admins)")
async def list_transfers(
    admin: AdminUser,
    market: MarketDep,
    is_solid: str | None = Query(default=None),
    user: str | None = Query(default=None),
) -> Response:
    found = await service.transfers(
        market,
        admin,
        user_id=q.user(user, is_admin=True),
        is_solid=q.boolean(is_solid, "is_solid"),
    )
    return seed_ok([seed_transfer(t) for t in found])


@router.post(
    "/api/market/transfer-out",
    summary="Record a transfer from the market to a user's wallet (admins)",
    openapi_extra=body_doc(TransferOutIn),
)
async def post_transfer(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    """Books a `transfer_out` of `amount` (409 when the user's balance would go
    negative)."""
    body = await read(request, TransferOutIn)
    if not q.is_uuid(body.user):
        raise q.query_error("Must be a valid UUID.", "user")
    done = await service.transfer_out(
        market,
        service.TransferOut(
            user_id=body.user,
            amount=Decimal(body.amount),
            user_wallet_address=body.user_wallet_address,
            tangle_msg_id=body.tangle_msg_id,
            is_solid=body.is_solid,
        ),
    )
    return seed_ok(seed_transfer(done))
