"""Market sessions and their enforced lifecycle:

    staged → open → closed → running → finished

one step at a time (an admin may also finish a `running` session by hand: the engine
then books nothing for it), at most one session `open`, each step stamping its time. A
session is created only when the market has a wallet and every earlier session is
finished. Moving a session to `running` announces it to the market engine (after the
commit); finishing one an external engine booked settles its fee (`_external`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tickhub.common.uow import ConstraintViolation
from tickhub.market.errors import Conflict, NotFound
from tickhub.market.repository import SessionRecord
from tickhub.market.service._context import Market
from tickhub.market.service._external import settle_external
from tickhub.market.service._notify import notify_all
from tickhub.market.uow import MarketUow

NEXT = {"staged": "open", "open": "closed", "closed": "running", "running": "finished"}
STAMP = {"open": "open_ts", "closed": "close_ts", "running": "launch_ts", "finished": "finish_ts"}
NO_MARKET_ADDRESS = "Market wallet address not found. Register an address first."
UNFINISHED = "Unable to create new session. There are still unfinished sessions."


def more_than_one_open(session_id: int) -> str:
    return (
        "Unable to update session. Only one session must be open at each time, and "
        f"session '{session_id}' is still in 'open' state."
    )


def wrong_transition(session: SessionRecord, wanted: str) -> str:
    step = NEXT.get(session.status)
    allowed = f"the next status is '{step}'" if step else "it accepts no further change"
    return (
        f"Unable to update session {session.id}: it is '{session.status}' and {allowed} "
        f"(asked: '{wanted}')."
    )


@dataclass(frozen=True, slots=True)
class SessionFilter:
    session_id: int | None = None
    status: str | None = None
    latest_only: bool = False


async def sessions(m: Market, f: SessionFilter) -> list[SessionRecord]:
    async with m.uow() as tx:
        found = await tx.sessions.sessions(session_id=f.session_id, status=f.status)
    return found[-1:] if f.latest_only else found


async def create_session(
    m: Market,
    *,
    session_number: int,
    market_price: Decimal,
    b_min: Decimal,
    b_max: Decimal,
    n_price_steps: int,
    delta: float,
) -> SessionRecord:
    """Admin only (the edge checks). 409 without a market wallet or while a session is
    unfinished; staged."""
    now = m.clock()
    try:
        async with m.uow() as tx:
            session_id = await _create(
                tx,
                now=now,
                session_number=session_number,
                market_price=market_price,
                b_min=b_min,
                b_max=b_max,
                n_price_steps=n_price_steps,
                delta=delta,
            )
            created = await tx.sessions.session(session_id)
            await tx.commit()
    except ConstraintViolation as exc:  # (number, date) taken, or a concurrent create
        raise Conflict(
            f"A market session number {session_number} exists already for "
            f"{now.date().isoformat()}.",
            field="session_number",
        ) from exc
    assert created is not None
    return created


async def _create(
    tx: MarketUow,
    *,
    now: datetime,
    session_number: int,
    market_price: Decimal,
    b_min: Decimal,
    b_max: Decimal,
    n_price_steps: int,
    delta: float,
) -> int:
    if await tx.holdings.market_wallet() is None:
        raise Conflict(NO_MARKET_ADDRESS, field="market_wallet")
    if await tx.sessions.unfinished():
        raise Conflict(UNFINISHED, field="status")
    return await tx.sessions.add_session(
        session_number=session_number,
        session_date=now.date(),
        staged_ts=now,
        status="staged",
        market_price=market_price,
        b_min=b_min,
        b_max=b_max,
        n_price_steps=n_price_steps,
        delta=delta,
    )


async def stage_next(tx: MarketUow, previous: SessionRecord, price: Decimal, now: datetime) -> int:
    """The session after `previous`, with the engine's next price (inside a clearing's
    unit of work, once `previous` is finished)."""
    number = await tx.sessions.next_number(now.date())
    return await _create(
        tx,
        now=now,
        session_number=max(number, previous.session_number + 1)
        if previous.session_date == now.date()
        else number,
        market_price=price,
        b_min=previous.b_min,
        b_max=previous.b_max,
        n_price_steps=previous.n_price_steps,
        delta=previous.delta,
    )


async def move_session(m: Market, session_id: int, status: str) -> SessionRecord:
    """Admin only. One step of the lifecycle; a wrong one is a 409 naming the current
    status. A session moved to `running` is announced to the engine after the commit."""
    now = m.clock()
    try:
        async with m.uow() as tx:
            current = await tx.sessions.session(session_id, lock=True)
            if current is None:
                raise NotFound("That market session ID does not exist.", field="session_id")
            if NEXT.get(current.status) != status:
                raise Conflict(wrong_transition(current, status), field="status")
            if status == "open":
                other = await tx.sessions.open_session(other_than=session_id)
                if other is not None:
                    raise Conflict(more_than_one_open(session_id), field="status")
            moved = await tx.sessions.guard_transition(
                session_id, current.status, status, **{STAMP[status]: now}
            )
            if not moved:  # a concurrent request moved it first
                fresh = await tx.sessions.session(session_id)
                assert fresh is not None
                raise Conflict(wrong_transition(fresh, status), field="status")
            if status == "finished":
                await settle_external(tx, session_id, now)
            if status == "open":
                await notify_all(
                    tx,
                    kind="session_opened",
                    title="Market session open",
                    description=f"Market session {session_id} is open for bids.",
                    key=f"session-open:{session_id}",
                    now=now,
                )
            updated = await tx.sessions.session(session_id)
            await tx.commit()
    except ConstraintViolation as exc:
        raise Conflict(f"Market session {session_id} changed meanwhile.", field="status") from exc
    assert updated is not None
    if status == "running" and m.announce is not None:
        await m.announce(session_id, now)
    return updated
