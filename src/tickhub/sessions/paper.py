"""Paper trading: signals booked as transactions of a seed-000 session, so its derived
figures (coins, balance, profit/loss) show how the signal would have traded.

Two ways in, both for the alerts context: `book_paper_session` makes a new session and
books a backtest's alerts in it (its own unit of work); `PaperLedger` books the live
scanner's alerts in the scanner's own transaction (`paper_ledger_on` its connection), so
an alert and its transaction are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.accounts.service import Principal
from tickhub.common.time import utc_now
from tickhub.sessions.errors import Invalid, NotFound
from tickhub.sessions.repository import SessionsRepository
from tickhub.sessions.uow import SessionsStore, SessionsUowFactory

SIDES = ("Purchase", "Sale")
# Amounts are stored with 18 decimals (`Numeric(38, 18)`).
_QUANTUM = Decimal("1e-18")


@dataclass(frozen=True, slots=True)
class PaperTrade:
    """One signal traded: `amount` coins bought or sold at `price`, at `at`."""

    side: str  # "Purchase" | "Sale"
    amount: Decimal
    price: float
    at: datetime
    crypto_type: str


def _row(session_id: int, trade: PaperTrade, step: int | None) -> dict[str, Any]:
    if trade.side not in SIDES:
        raise Invalid(f"side must be 'Purchase' or 'Sale', not {trade.side!r}", field="side")
    value = (trade.amount * Decimal(repr(trade.price))).quantize(_QUANTUM)
    return {
        "session_id": session_id,
        "type": trade.side,
        "crypto_type": trade.crypto_type[:32],
        "amount": trade.amount,
        "value": value,
        "transaction_date_time": trade.at,
        "step": step,
    }


async def book_paper_session(
    uow: SessionsUowFactory,
    principal: Principal,
    *,
    name: str,
    crypto_type: str,
    starting_balance: Decimal,
    starting_coins: Decimal,
    session_start: datetime,
    session_end: datetime,
    trades: Sequence[PaperTrade],
    now: datetime | None = None,
) -> int:
    """A new session of the caller with `trades` as its transactions (steps 1, 2, …, in
    the order given); its id."""
    async with uow() as tx:
        repo = tx.sessions
        session_id = await repo.add_session(
            {
                "session_name": name[:255],
                "type": "paper",
                "crypto_type": crypto_type[:32],
                "session_start": session_start,
                "session_end": session_end,
                "starting_balance": starting_balance,
                "starting_coins": starting_coins,
                "owner_id": principal.id,
                "api_key_id": principal.api_key_id,
                "created_at": now or utc_now(),
            }
        )
        await repo.add_transactions(
            [_row(session_id, t, step) for step, t in enumerate(trades, start=1)]
        )
        await tx.commit()
    return session_id


async def check_paper_session(uow: SessionsUowFactory, owner_id: str, session_id: int) -> None:
    """`NotFound` on `paper.session_id` unless the session exists and is `owner_id`'s."""
    async with uow() as tx:
        if await tx.sessions.session(session_id, owner_id) is None:
            raise NotFound("No session with that session_id was found.", field="paper.session_id")


class PaperLedger:
    """Books trades into existing sessions on a connection another context's unit of
    work holds (it commits them, with its own rows)."""

    def __init__(self, store: SessionsStore) -> None:
        self._store = store

    async def book(self, bookings: Sequence[tuple[int, str, PaperTrade]]) -> int:
        """Book each (session id, owner id, trade) whose session still exists and is
        still the owner's; how many were booked."""
        rows: list[dict[str, Any]] = []
        owners: dict[int, bool] = {}
        for session_id, owner_id, trade in bookings:
            if session_id not in owners:
                owners[session_id] = await self._store.session(session_id, owner_id) is not None
            if owners[session_id]:
                rows.append(_row(session_id, trade, None))
        if rows:
            await self._store.add_transactions(rows)
        return len(rows)


def paper_ledger_on(conn: AsyncConnection) -> PaperLedger:
    return PaperLedger(SessionsRepository(conn))
