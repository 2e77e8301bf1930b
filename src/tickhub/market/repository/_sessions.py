"""Market sessions, bids and bid payments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.market.repository._records import BidRecord, PaymentRecord, SessionRecord
from tickhub.market.repository._tables import bids_t, owned, payments_t, sessions_t


def _session(row: Row[Any]) -> SessionRecord:
    return SessionRecord(
        row.id,
        row.session_number,
        row.session_date,
        row.staged_ts,
        row.open_ts,
        row.close_ts,
        row.launch_ts,
        row.finish_ts,
        row.status,
        row.market_price,
        row.b_min,
        row.b_max,
        row.n_price_steps,
        float(row.delta),
    )


def _bid(row: Row[Any]) -> BidRecord:
    return BidRecord(
        row.id,
        row.session_id,
        row.user_id,
        row.resource_id,
        row.max_payment,
        row.bid_price,
        row.gain_func,
        bool(row.confirmed),
        bool(row.has_forecasts),
        row.registered_at,
        row.tangle_msg_id,
    )


class SessionsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ sessions

    async def add_session(self, **values: Any) -> int:
        result = await self.conn.execute(insert(sessions_t).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def session(self, session_id: int, *, lock: bool = False) -> SessionRecord | None:
        stmt = select(sessions_t).where(sessions_t.c.id == session_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _session(row) if row else None

    async def sessions(
        self, *, session_id: int | None = None, status: str | None = None
    ) -> list[SessionRecord]:
        stmt = select(sessions_t).order_by(sessions_t.c.id)
        if session_id is not None:
            stmt = stmt.where(sessions_t.c.id == session_id)
        if status is not None:
            stmt = stmt.where(sessions_t.c.status == status)
        return [_session(r) for r in await self.conn.execute(stmt)]

    async def unfinished(self) -> int:
        stmt = select(func.count()).where(sessions_t.c.status != "finished")
        return int(await self.conn.scalar(stmt) or 0)

    async def next_number(self, day: Any) -> int:
        stmt = select(func.max(sessions_t.c.session_number)).where(sessions_t.c.session_date == day)
        found = await self.conn.scalar(stmt)
        return 0 if found is None else int(found) + 1

    async def open_session(self, other_than: int) -> int | None:
        stmt = select(sessions_t.c.id).where(
            sessions_t.c.status == "open", sessions_t.c.id != other_than
        )
        found = await self.conn.scalar(stmt)
        return None if found is None else int(found)

    async def guard_transition(
        self, session_id: int, expected: str, status: str, **more: Any
    ) -> bool:
        result = await self.conn.execute(
            update(sessions_t)
            .where(sessions_t.c.id == session_id, sessions_t.c.status == expected)
            .values(status=status, **more)
        )
        return bool(result.rowcount == 1)

    # ------------------------------------------------------------ bids

    def _bids(self) -> Any:
        return select(*bids_t.c, payments_t.c.tangle_msg_id).select_from(
            bids_t.outerjoin(payments_t, payments_t.c.bid_id == bids_t.c.id)
        )

    async def add_bid(self, **values: Any) -> None:
        await self.conn.execute(insert(bids_t).values(**values))

    async def bid(self, bid_id: str, user_id: str | None = None) -> BidRecord | None:
        stmt = owned(self._bids().where(bids_t.c.id == bid_id), bids_t, user_id)
        row = (await self.conn.execute(stmt)).first()
        return _bid(row) if row else None

    async def bids(
        self,
        user_id: str | None,
        *,
        session_id: int | None = None,
        resource_id: str | None = None,
        confirmed: bool | None = None,
    ) -> list[BidRecord]:
        stmt = owned(self._bids(), bids_t, user_id)
        if session_id is not None:
            stmt = stmt.where(bids_t.c.session_id == session_id)
        if resource_id is not None:
            stmt = stmt.where(bids_t.c.resource_id == resource_id)
        if confirmed is not None:
            stmt = stmt.where(bids_t.c.confirmed == confirmed)
        stmt = stmt.order_by(bids_t.c.registered_at, bids_t.c.id)
        return [_bid(r) for r in await self.conn.execute(stmt)]

    async def bid_exists(self, session_id: int, user_id: str, resource_id: str) -> bool:
        stmt = select(func.count()).where(
            bids_t.c.session_id == session_id,
            bids_t.c.user_id == user_id,
            bids_t.c.resource_id == resource_id,
        )
        return bool(await self.conn.scalar(stmt))

    async def confirm_bid(self, bid_id: str) -> bool:
        """Confirm once: False when a concurrent validation confirmed it first."""
        result = await self.conn.execute(
            update(bids_t)
            .where(bids_t.c.id == bid_id, bids_t.c.confirmed.is_(False))
            .values(confirmed=True)
        )
        return bool(result.rowcount == 1)

    async def mark_forecasts(self, bid_id: str) -> None:
        await self.conn.execute(
            update(bids_t).where(bids_t.c.id == bid_id).values(has_forecasts=True)
        )

    # ------------------------------------------------------------ payments

    async def payment_by_reference(self, tangle_msg_id: str) -> PaymentRecord | None:
        stmt = select(payments_t).where(payments_t.c.tangle_msg_id == tangle_msg_id)
        row = (await self.conn.execute(stmt)).first()
        return PaymentRecord(row.bid_id, row.tangle_msg_id, bool(row.is_solid)) if row else None

    async def payment_taken(self, bid_id: str, tangle_msg_id: str) -> bool:
        stmt = select(func.count()).where(
            (payments_t.c.bid_id == bid_id) | (payments_t.c.tangle_msg_id == tangle_msg_id)
        )
        return bool(await self.conn.scalar(stmt))

    async def add_payment(self, bid_id: str, tangle_msg_id: str, now: Any) -> None:
        await self.conn.execute(
            insert(payments_t).values(
                bid_id=bid_id, tangle_msg_id=tangle_msg_id, is_solid=False, registered_at=now
            )
        )

    async def solidify(self, bid_id: str) -> None:
        await self.conn.execute(
            update(payments_t).where(payments_t.c.bid_id == bid_id).values(is_solid=True)
        )
