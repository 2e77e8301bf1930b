"""Seed 003's market sessions, bids and payment validation."""

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
from tickhub.market.errors import Invalid, NotFound
from tickhub.market.schemas import (
    BidIn,
    PaymentIn,
    SessionIn,
    SessionPatchIn,
    seed_bid,
    seed_session,
)

router = APIRouter(tags=TAGS, route_class=SeedRoute)
UNKNOWN_SESSION = "That market session ID does not exist."
UNKNOWN_BID = "That market bid ID does not exist."


# ---------------------------------------------------------------- sessions


@router.get("/api/market/session", summary="Market sessions (everyone signed in)")
async def list_sessions(
    _principal: CurrentUser,
    market: MarketDep,
    status: str | None = Query(default=None, description="staged|open|closed|running|finished"),
    market_session: str | None = Query(default=None, description="A session id"),
    latest_only: str | None = Query(default=None, description="true: only the latest"),
) -> Response:
    f = service.SessionFilter(
        session_id=q.session_id(market_session),
        status=q.status(status),
        latest_only=bool(q.boolean(latest_only, "latest_only")),
    )
    return seed_ok([seed_session(s) for s in await service.sessions(market, f)])


@router.post(
    "/api/market/session",
    summary="Create a market session (admins)",
    openapi_extra=body_doc(SessionIn),
)
async def post_session(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    """409 without a market wallet or while a session is unfinished. The session starts
    `staged`."""
    body = await read(request, SessionIn)
    if body.b_min > body.b_max:
        raise Invalid("b_min must not exceed b_max.", field="b_min")
    created = await service.create_session(
        market,
        session_number=body.session_number,
        market_price=body.market_price,
        b_min=Decimal(body.b_min),
        b_max=Decimal(body.b_max),
        n_price_steps=body.n_price_steps,
        delta=body.delta,
    )
    return seed_ok(seed_session(created))


@router.patch(
    "/api/market/session/{session_id}",
    summary="Move a session one step of its lifecycle (admins)",
    openapi_extra=body_doc(SessionPatchIn),
)
async def patch_session(
    session_id: int, request: Request, _admin: AdminUser, market: MarketDep
) -> Response:
    """staged → open → closed → running → finished, one step at a time; at most one
    session open. A wrong step is a 409 naming the current status. `running` hands the
    session to the market engine, which finishes it. As the seed: an unknown session is
    a 400 whose `data` is the message, looked up before the body is read."""
    unknown = Invalid(UNKNOWN_SESSION, field="session_id", seed_data=UNKNOWN_SESSION)
    if not 0 <= session_id < 2**31:
        raise unknown
    if not await service.sessions(market, service.SessionFilter(session_id=session_id)):
        raise unknown
    body = await read(request, SessionPatchIn)
    if body.status is None:
        # the seed's KeyError answer, without the period DRF puts after its own
        raise Invalid("This field is required", field="status")
    try:
        moved = await service.move_session(market, session_id, body.status)
    except NotFound as exc:  # deleted meanwhile
        raise unknown from exc
    return seed_ok(seed_session(moved))


# ---------------------------------------------------------------- bids


@router.get("/api/market/bid", summary="The caller's bids (admins: all)")
async def list_bids(
    principal: CurrentUser,
    market: MarketDep,
    market_session: str | None = Query(default=None),
    resource: str | None = Query(default=None),
    confirmed: str | None = Query(default=None, description="true or false"),
    user: str | None = Query(default=None, description="Admins: one user's"),
) -> Response:
    f = service.BidFilter(
        session_id=q.session_id(market_session),
        resource_id=q.resource(resource),
        confirmed=q.boolean(confirmed, "confirmed"),
        user_id=q.user(user, is_admin=principal.is_admin),
    )
    return seed_ok([seed_bid(b) for b in await service.bids(market, principal, f)])


@router.post("/api/market/bid", summary="Place a bid", openapi_extra=body_doc(BidIn))
async def post_bid(request: Request, principal: CurrentUser, market: MarketDep) -> Response:
    """`max_payment` ≥ TICKHUB_MARKET_MINIMUM_PAYMENT; the answer carries the market's
    wallet address, to pay `max_payment` to."""
    body = await read(request, BidIn)
    if not q.is_uuid(body.resource):
        raise Invalid("Must be a valid UUID.", field="resource")
    placed = await service.place_bid(
        market,
        principal,
        session_id=body.market_session,
        resource_id=body.resource,
        max_payment=Decimal(body.max_payment),
        bid_price=Decimal(body.bid_price),
        gain_func=body.gain_func,
    )
    bid = placed.bid
    return seed_ok(
        {
            "id": bid.id,
            "user": bid.user_id,
            "market_session": bid.session_id,
            "resource": bid.resource_id,
            "bid_price": body.bid_price,
            "gain_func": bid.gain_func,
            "max_payment": body.max_payment,
            "market_wallet_address": placed.market_wallet_address,
        }
    )


@router.patch(
    "/api/market/bid/{bid_id}",
    summary="Attach the payment reference of a bid",
    openapi_extra=body_doc(PaymentIn),
)
async def patch_bid(
    bid_id: str, request: Request, principal: CurrentUser, market: MarketDep
) -> Response:
    """The caller's bid, while its session is open, once. As the seed: an unknown bid is
    a 400 whose `data` is the message; another user's bid is a 409."""
    if not q.is_uuid(bid_id) or not await service.bid_exists(market, bid_id):
        raise Invalid(UNKNOWN_BID, field="bid_id", seed_data=UNKNOWN_BID)
    body = await read(request, PaymentIn)
    bid = await service.attach_payment(market, principal, bid_id, body.tangle_msg_id)
    return seed_ok({"bid_id": bid.id, "tangle_msg_id": bid.tangle_msg_id})


@router.post(
    "/api/market/validate/bid-payment",
    summary="Validate a bid's payment (admins)",
    openapi_extra=body_doc(PaymentIn),
)
async def validate_payment(request: Request, _admin: AdminUser, market: MarketDep) -> Response:
    """Confirms the bid and books a `transfer_in` of its `max_payment`, once. With
    TICKHUB_MARKET_LEDGER_URL set the payment is checked on the ledger first."""
    body = await read(request, PaymentIn)
    done = await service.validate_payment(market, body.tangle_msg_id)
    return seed_ok(
        {
            "market_bid": done.bid.id,
            "market_session": done.bid.session_id,
            "tangle_msg_id": done.tangle_msg_id,
            "user_wallet_address": done.market_wallet_address,
            "confirmed": done.bid.confirmed,
        }
    )
