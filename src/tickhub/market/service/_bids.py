"""Bids, their payment references and the validation of payments.

A bid passes the seed's seven checks in order (each a 409): the caller has a wallet; the
resource is the caller's; it is a measurements resource; it is to be forecast; the
session exists; it is open; no bid exists yet for (session, user, resource). PATCH
attaches the payment reference (`tangle_msg_id`): the caller's own bid, while the
session is open, once, and each reference only once. Validation (admins) checks the
payment with the verifier, confirms the bid and books a `transfer_in` of `max_payment`,
exactly once even under concurrent validations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from tickhub.common.uow import ConstraintViolation
from tickhub.market.errors import Conflict, Invalid
from tickhub.market.repository import BidRecord
from tickhub.market.service._context import Caller, Market
from tickhub.market.service._money import book
from tickhub.market.service._notify import notify

GAIN_FUNCS = ("mse", "rmse", "mae")


@dataclass(frozen=True, slots=True)
class PlacedBid:
    bid: BidRecord
    market_wallet_address: str


@dataclass(frozen=True, slots=True)
class Validation:
    bid: BidRecord
    tangle_msg_id: str
    market_wallet_address: str


def _no_wallet(caller: Caller) -> Conflict:
    return Conflict(
        f"No wallet address found for user '{caller.id}'. Please register your address first.",
        field="wallet_address",
    )


async def place_bid(
    m: Market,
    caller: Caller,
    *,
    session_id: int,
    resource_id: str,
    max_payment: Decimal,
    bid_price: Decimal,
    gain_func: str = "rmse",
) -> PlacedBid:
    minimum = m.settings.minimum_payment
    if max_payment < minimum:
        raise Invalid(
            f"Ensure this value is greater than or equal to {format(minimum, 'f')}.",
            field="max_payment",
        )
    if gain_func not in GAIN_FUNCS:
        raise Invalid(f'"{gain_func}" is not a valid choice.', field="gain_func")
    bid_id = str(uuid.uuid4())
    try:
        async with m.uow() as tx:
            if not await tx.holdings.wallets(caller.id):
                raise _no_wallet(caller)
            owned = await tx.holdings.resources(caller.id, resource_id=resource_id)
            if not owned:
                raise Conflict(
                    f"Resource ID {resource_id} is not registered to user '{caller.id}'.",
                    field="resource",
                )
            if owned[0].type != "measurements":
                raise Conflict(
                    "It is only possible to place bids for measurements resources.",
                    field="resource",
                )
            if not owned[0].to_forecast:
                raise Conflict(
                    "It is only possible to place bids for resources with 'to_forecast' "
                    "field equal to True.",
                    field="resource",
                )
            session = await tx.sessions.session(session_id)
            if session is None:
                raise Conflict(
                    f"Market session {session_id} does not exist.", field="market_session"
                )
            if session.status != "open":
                raise Conflict(
                    f"Market session {session_id} is not open for bids.", field="market_session"
                )
            if await tx.sessions.bid_exists(session_id, caller.id, resource_id):
                raise _already(session_id, resource_id)
            await tx.sessions.add_bid(
                id=bid_id,
                session_id=session_id,
                user_id=caller.id,
                resource_id=resource_id,
                max_payment=max_payment,
                bid_price=bid_price,
                gain_func=gain_func,
                confirmed=False,
                has_forecasts=False,
                registered_at=m.clock(),
            )
            bid = await tx.sessions.bid(bid_id)
            wallet = await tx.holdings.market_wallet()
            await tx.commit()
    except ConstraintViolation as exc:  # the same bid placed concurrently
        raise _already(session_id, resource_id) from exc
    assert bid is not None and wallet is not None
    return PlacedBid(bid, wallet.wallet_address)


def _already(session_id: int, resource_id: str) -> Conflict:
    return Conflict(
        f"The user already has a placed bid for session ID {session_id} and resource ID "
        f"{resource_id}.",
        field="resource",
    )


@dataclass(frozen=True, slots=True)
class BidFilter:
    session_id: int | None = None
    resource_id: str | None = None
    confirmed: bool | None = None
    user_id: str | None = None  # admins only


async def bids(m: Market, caller: Caller, f: BidFilter) -> list[BidRecord]:
    async with m.uow() as tx:
        return await tx.sessions.bids(
            caller.scope(f.user_id),
            session_id=f.session_id,
            resource_id=f.resource_id,
            confirmed=f.confirmed,
        )


async def bid_exists(m: Market, bid_id: str) -> bool:
    """Whoever's it is (the seed looks a bid up before it checks whose it is)."""
    async with m.uow() as tx:
        return await tx.sessions.bid(bid_id) is not None


async def attach_payment(m: Market, caller: Caller, bid_id: str, tangle_msg_id: str) -> BidRecord:
    try:
        async with m.uow() as tx:
            if not await tx.holdings.wallets(caller.id):
                raise _no_wallet(caller)
            bid = await tx.sessions.bid(bid_id, caller.id)
            if bid is None:
                raise Conflict(
                    f"Bid ID {bid_id} is not registered to user '{caller.id}'.", field="bid_id"
                )
            session = await tx.sessions.session(bid.session_id)
            if session is None or session.status != "open":
                raise Conflict(
                    f"Market session {bid.session_id} is not open for bids.",
                    field="market_session",
                )
            # as the seed: a bid with a reference, or a reference on another bid, is
            # "already exists for bid ID"; "already used" is its answer to a race
            if (
                bid.tangle_msg_id is not None
                or await tx.sessions.payment_by_reference(tangle_msg_id) is not None
            ):
                raise _has_reference(bid_id)
            await tx.sessions.add_payment(bid_id, tangle_msg_id, m.clock())
            updated = await tx.sessions.bid(bid_id)
            await tx.commit()
    except ConstraintViolation as exc:  # a concurrent PATCH of this bid or reference
        raise _reused(tangle_msg_id) from exc
    assert updated is not None
    return updated


def _has_reference(bid_id: str) -> Conflict:
    return Conflict(
        f"A Tangle Message ID already exists for bid ID {bid_id}.", field="tangle_msg_id"
    )


def _reused(tangle_msg_id: str) -> Conflict:
    return Conflict(
        f"Tangle Message ID {tangle_msg_id} was already used in previous bids.",
        field="tangle_msg_id",
    )


async def validate_payment(m: Market, tangle_msg_id: str) -> Validation:
    """Admin only. 409 when no bid carries the reference or it is confirmed already;
    otherwise the verifier checks the payment, and the bid is confirmed with a
    `transfer_in` of its `max_payment` (the bid's `confirmed` flips exactly once)."""
    async with m.uow() as tx:
        payment = await tx.sessions.payment_by_reference(tangle_msg_id)
        bid = await tx.sessions.bid(payment.bid_id) if payment else None
        wallet = await tx.holdings.market_wallet()
    if payment is None or bid is None:
        raise Conflict(
            f"No bid payments were found for tangle_msg_id {tangle_msg_id}.",
            field="tangle_msg_id",
        )
    if bid.confirmed:
        raise _validated(tangle_msg_id)
    if wallet is None:
        raise Conflict(
            "Market wallet address not found. Register an address first.", field="market_wallet"
        )
    await m.verifier.verify(tangle_msg_id, address=wallet.wallet_address, amount=bid.max_payment)
    now = m.clock()
    try:
        async with m.uow() as tx:
            if not await tx.sessions.confirm_bid(bid.id):
                raise _validated(tangle_msg_id)
            await tx.sessions.solidify(bid.id)
            await book(
                tx,
                user_id=bid.user_id,
                amount=bid.max_payment,
                kind="transfer_in",
                now=now,
                session_id=bid.session_id,
                resource_id=bid.resource_id,
            )
            await notify(
                tx,
                [bid.user_id],
                kind="bid_confirmed",
                title="Bid confirmed",
                description=(
                    f"Your bid for market session {bid.session_id} is confirmed: "
                    f"{format(bid.max_payment, 'f')} deposited."
                ),
                key=f"bid-confirmed:{bid.id}",
                now=now,
            )
            confirmed = await tx.sessions.bid(bid.id)
            await tx.commit()
    except ConstraintViolation as exc:  # a concurrent validation booked it first
        raise _validated(tangle_msg_id) from exc
    assert confirmed is not None
    return Validation(confirmed, tangle_msg_id, wallet.wallet_address)


def _validated(tangle_msg_id: str) -> Conflict:
    return Conflict(f"Tangle message ID {tangle_msg_id} already validated.", field="tangle_msg_id")
