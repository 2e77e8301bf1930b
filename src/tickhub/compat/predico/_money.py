"""Seed 003's money paths: balances, session balances, transactions, fees, price weights
and transfers out. Every user sees only their own money; admins see all (or one user's
with `user`). The write paths the seed's external market engine used (session balance,
fee, price weights; admins only) book through `market.service._external`."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tickhub.accounts.deps import AdminUser, CurrentUser
from tickhub.accounts.errors import Invalid as BodyInvalid
from tickhub.compat._envelopes import seed_ok
from tickhub.compat.predico import _query as q
from tickhub.compat.predico._bodies import body_doc, read
from tickhub.compat.predico._envelope import TAGS, SeedRoute
from tickhub.market import service
from tickhub.market.deps import MarketDep
from tickhub.market.errors import Invalid
from tickhub.market.schemas import (
    FeeIn,
    SessionBalanceIn,
    TransferOutIn,
    TransferOutPutIn,
    WeightsIn,
    number,
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
    return seed_ok(
        {
            "user_id": done.user_id,
            "amount": number(done.amount),
            "user_wallet_address": done.user_wallet_address,
            "tangle_msg_id": done.tangle_msg_id,
            "withdraw_transfer_id": done.id,
        }
    )


# ---------------------------------------------------------------- an external engine's writes
# Admins only. The first payment, revenue, fee or weights of a session claims it for the
# external engine: the built-in engine then books nothing for it, and a session the
# built-in engine books refuses these (409). See `tickhub.market.service._external`.


@router.post(
    "/api/market/session-balance",
    summary="Book one transaction of a user's resource in a session (admins)",
    openapi_extra=body_doc(SessionBalanceIn),
)
async def post_session_balance(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    """The seed's sign rules, never a negative balance, once per (session, user,
    resource, type); revenues and the fee never exceed the session's payments."""
    body = await read(request, SessionBalanceIn)
    await service.book_session_balance(
        market,
        user_id=body.user,
        session_id=body.market_session,
        resource_id=body.resource,
        kind=body.transaction_type,
        amount=body.amount,
    )
    return seed_ok(f"Updated session balance for the user ID ({body.user}). ")


@router.post(
    "/api/market/session-fee",
    summary="Record the market's fee of a session (admins)",
    openapi_extra=body_doc(FeeIn),
)
async def post_session_fee(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    body = await read(request, FeeIn)
    await service.post_fee(market, body.market_session, body.amount)
    return seed_ok("Market fee registered with success.")


@router.post(
    "/api/market/price-weight",
    summary="Record price-step weights of a session (admins)",
    openapi_extra=body_doc(WeightsIn),
)
async def post_price_weight(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    try:
        body = await read(request, WeightsIn)
    except BodyInvalid as exc:
        raise _as_list_error(exc, "weights_p") from exc
    await service.post_weights(market, body.market_session, body.weights_p)
    return seed_ok(True)


def _as_list_error(exc: BodyInvalid, field: str) -> BodyInvalid:
    """DRF nests the error of a field that is not a list under `non_field_errors`."""
    messages = exc.errors.get(field, [])
    if not any(m.startswith("Expected a list of items") for m in messages):
        return exc
    data: dict[str, object] = dict(exc.errors)
    data[field] = {"non_field_errors": messages}
    return BodyInvalid(exc.message, errors=exc.errors, seed_data=data)


@router.put(
    "/api/market/transfer-out",
    summary="Update a transfer out: its ledger reference, solid or not (admins)",
    openapi_extra=body_doc(TransferOutPutIn),
)
async def put_transfer(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    """Books nothing: the money left the balance when the transfer was recorded (the seed
    booked it again at every PUT). The user and the amount cannot change (409)."""
    body = await read(request, TransferOutPutIn)
    if body.withdraw_transfer_id is None:
        # the seed's KeyError answer, without the period DRF puts after its own
        raise Invalid("This field is required", field="withdraw_transfer_id")
    if body.user is not None and not q.is_uuid(body.user):
        raise Invalid("Must be a valid UUID.", field="user")
    done = await service.update_transfer(
        market,
        body.withdraw_transfer_id,
        service.TransferUpdate(
            user_id=body.user,
            amount=None if body.amount is None else Decimal(body.amount),
            user_wallet_address=body.user_wallet_address,
            tangle_msg_id=body.tangle_msg_id,
            is_solid=body.is_solid,
        ),
    )
    return seed_ok(seed_transfer(done))
