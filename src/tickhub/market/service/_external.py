"""What an external market engine writes, as seed 003's engine did through its REST API:
a session's money (`session-balance`), its fee, its price weights and its forecasts.

These writes and the built-in engine never book the same session. The first result
an external engine writes for a session (a payment, a revenue, the fee, weights or
forecasts) claims the session in its clearing record (`external`); the built-in engine
then books nothing for it, as for a session an admin finished by hand. A session the
built-in engine has started or booked refuses these writes (409). Deposits and
withdrawals booked here (`transfer_in`, `transfer_out`) claim nothing.

Money stays conserved: each booking keeps the balances at or above zero (the seed's
checks), the unique (session, user, resource, type) makes every booking happen once,
and a session never pays out more than it took in: revenues plus the fee never exceed
its payments (409). What remains when the admin finishes the session goes to the
market's fee, so that payments = revenues + fee to the last decimal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from tickhub.common.uow import ConstraintViolation
from tickhub.market import engine
from tickhub.market.errors import Conflict, Invalid
from tickhub.market.repository import SessionRecord
from tickhub.market.service._context import Market
from tickhub.market.service._money import NEGATIVE, POSITIVE, book, duplicated, plain
from tickhub.market.uow import MarketUow

ZERO = Decimal(0)
NO_SESSION_YET = "This market session does not exist yet."
CLAIMING = ("payment", "revenue")


def changed_meanwhile(session_id: int) -> Conflict:
    """A concurrent write got there first (where the database takes no row lock)."""
    return Conflict(f"Market session {session_id} changed meanwhile.", field="market_session")


def engine_owns(session_id: int) -> str:
    return f"Market session {session_id} is booked by the market engine."


def seed_float(amount: Decimal) -> str:
    """An amount as the seed's messages print it (a Python float)."""
    return str(float(amount))


async def claim(tx: MarketUow, session_id: int, now: datetime) -> None:
    """Mark the session's books as an external engine's, or refuse (409) when the
    built-in engine has it. Call with the session row locked."""
    record = await tx.data.clearing(session_id)
    if record is None:
        await tx.data.claim_clearing(session_id, now)
    elif record.status != "external":
        raise Conflict(engine_owns(session_id), field="market_session")


async def _session(tx: MarketUow, session_id: int) -> SessionRecord:
    found = await tx.sessions.session(session_id, lock=True)
    if found is None:
        raise Invalid(NO_SESSION_YET, field="market_session")
    return found


async def session_books(tx: MarketUow, session_id: int) -> tuple[Decimal, Decimal, Decimal]:
    """(payments, revenues, fee) of a session, each as a positive amount."""
    payments = revenues = ZERO
    for t in await tx.money.transactions(None, session_id=session_id):
        if t.type == "payment":
            payments -= t.amount
        elif t.type == "revenue":
            revenues += t.amount
    fee = sum((f.amount for f in await tx.money.fees(session_id)), ZERO)
    return payments, revenues, fee


async def _no_money_created(
    tx: MarketUow, session_id: int, *, revenue: Decimal = ZERO, fee: Decimal = ZERO
) -> None:
    payments, revenues, fees = await session_books(tx, session_id)
    if revenues + revenue + fees + fee > payments:
        raise Conflict(
            f"Unable to book market session {session_id}: revenues "
            f"{plain(revenues + revenue)} and fee {plain(fees + fee)} would exceed its "
            f"payments {plain(payments)}.",
            field="amount",
        )


async def book_session_balance(
    m: Market,
    *,
    user_id: str,
    session_id: int,
    resource_id: str,
    kind: str,
    amount: Decimal,
) -> None:
    """Seed 003's `POST session-balance`: one transaction of `kind` for (session, user,
    resource), applied to the balances."""
    if (kind in NEGATIVE and amount > 0) or (kind in POSITIVE and amount < 0):
        raise Conflict(
            f"Bad operator signal for transaction {kind} - {seed_float(amount)}.",
            field="amount",
        )
    now = m.clock()
    try:
        await _book_session_balance(m, now, user_id, session_id, resource_id, kind, amount)
    except ConstraintViolation as exc:
        raise changed_meanwhile(session_id) from exc


async def _book_session_balance(
    m: Market,
    now: datetime,
    user_id: str,
    session_id: int,
    resource_id: str,
    kind: str,
    amount: Decimal,
) -> None:
    async with m.uow() as tx:
        if await tx.sessions.session(session_id, lock=True) is None:
            raise Conflict(f"Market session {session_id} does not exist.", field="market_session")
        if not await tx.holdings.resources(user_id, resource_id=resource_id):
            raise Conflict(
                f"Resource ID {resource_id} is not registered to user '{user_id}'.",
                field="resource",
            )
        if kind in CLAIMING:
            await claim(tx, session_id, now)
        if await tx.money.transaction_exists(session_id, user_id, resource_id, kind):
            raise Conflict(duplicated(kind, user_id, resource_id, session_id), field="type")
        if kind == "revenue":
            await _no_money_created(tx, session_id, revenue=amount)
        await book(
            tx,
            user_id=user_id,
            amount=amount,
            kind=kind,
            now=now,
            session_id=session_id,
            resource_id=resource_id,
        )
        await tx.commit()


async def post_fee(m: Market, session_id: int, amount: Decimal) -> None:
    """Seed 003's `POST session-fee`: the market's take of a session, once."""
    now = m.clock()
    try:
        async with m.uow() as tx:
            await _session(tx, session_id)
            await claim(tx, session_id, now)
            if await tx.money.fees(session_id):
                raise Invalid(
                    "market session fee with this market session already exists.",
                    field="market_session",
                )
            await _no_money_created(tx, session_id, fee=amount)
            await tx.money.add_fee(session_id, amount, now)
            await tx.commit()
    except ConstraintViolation as exc:
        raise changed_meanwhile(session_id) from exc


async def post_weights(m: Market, session_id: int, weights: Sequence[float]) -> None:
    """Seed 003's `POST price-weight`: weights appended to the session's, one per price
    step (at most `n_price_steps` in all), each priced at its step of the session's grid."""
    now = m.clock()
    try:
        await _post_weights(m, now, session_id, weights)
    except ConstraintViolation as exc:
        raise changed_meanwhile(session_id) from exc


async def _post_weights(
    m: Market, now: datetime, session_id: int, weights: Sequence[float]
) -> None:
    async with m.uow() as tx:
        session = await _session(tx, session_id)
        await claim(tx, session_id, now)
        have = len(await tx.money.weights(session_id))
        if have + len(weights) > session.n_price_steps:
            raise Invalid(
                f"Ensure this field has no more than {session.n_price_steps - have} elements.",
                field="weights_p",
            )
        grid = engine.PriceGrid(
            market_price=session.market_price,
            b_min=session.b_min,
            b_max=session.b_max,
            n_price_steps=session.n_price_steps,
            delta=session.delta,
        )
        prices = engine.price_steps(grid)
        rows = [(prices[have + i], float(w)) for i, w in enumerate(weights)]
        await tx.money.add_weights(session_id, rows, first_step=have)
        await tx.commit()


async def settle_external(tx: MarketUow, session_id: int, now: datetime) -> None:
    """When an admin finishes a session an external engine booked: what its payments
    left over after the revenues goes to the market's fee (payments = revenues + fee)."""
    record = await tx.data.clearing(session_id)
    if record is None or record.status != "external":
        return
    payments, revenues, fee = await session_books(tx, session_id)
    rest = payments - revenues - fee
    if rest <= 0:
        return
    if await tx.money.fees(session_id):
        await tx.money.set_fee(session_id, fee + rest)
    else:
        await tx.money.add_fee(session_id, rest, now)
