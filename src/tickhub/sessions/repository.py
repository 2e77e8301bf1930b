"""Sessions queries (SQLAlchemy Core). Never commits: the service owns the transaction.

Methods that take `owner` filter on it, so another user's object is simply not found;
`None` means "any owner" and is only passed for admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.sessions.models import Model, TradingSession, Transaction

sessions_t = cast(Table, TradingSession.__table__)
transactions_t = cast(Table, Transaction.__table__)
models_t = cast(Table, Model.__table__)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    owner_id: str
    api_key_id: str | None
    session_name: str
    type: str
    model_name: str | None
    model_id: int | None
    crypto_type: str
    session_start: datetime
    session_end: datetime | None
    starting_balance: Decimal
    starting_coins: Decimal
    ending_balance: Decimal | None
    ending_coins: Decimal | None
    coins_sold: Decimal | None
    coins_bought: Decimal | None
    number_of_trades: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    id: int
    session_id: int
    type: str
    crypto_type: str
    amount: Decimal
    value: Decimal
    transaction_date_time: datetime
    step: int | None


@dataclass(frozen=True, slots=True)
class ModelRecord:
    id: int
    owner_id: str
    api_key_id: str | None
    name: str
    version: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    dataset_label: str | None
    created_at: datetime


@dataclass(slots=True)
class Totals:
    """What a session's transactions add up to."""

    trades: int = 0
    bought: Decimal = field(default_factory=Decimal)
    sold: Decimal = field(default_factory=Decimal)
    spent: Decimal = field(default_factory=Decimal)  # value of purchases
    earned: Decimal = field(default_factory=Decimal)  # value of sales


def _session(row: Row[Any]) -> SessionRecord:
    return SessionRecord(**{k: row._mapping[k] for k in SessionRecord.__slots__})


def _transaction(row: Row[Any]) -> TransactionRecord:
    return TransactionRecord(**{k: row._mapping[k] for k in TransactionRecord.__slots__})


def _model(row: Row[Any]) -> ModelRecord:
    return ModelRecord(**{k: row._mapping[k] for k in ModelRecord.__slots__})


class SessionsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ sessions

    async def add_session(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(
            insert(sessions_t).values(**values).returning(sessions_t.c.id)
        )
        return int(result.scalar_one())

    async def session(self, session_id: int, owner: str | None) -> SessionRecord | None:
        query = select(sessions_t).where(sessions_t.c.id == session_id)
        if owner is not None:
            query = query.where(sessions_t.c.owner_id == owner)
        row = (await self.conn.execute(query)).first()
        return _session(row) if row else None

    async def sessions(self, owner: str | None, *, limit: int, offset: int) -> list[SessionRecord]:
        query = select(sessions_t).order_by(sessions_t.c.id).limit(limit).offset(offset)
        if owner is not None:
            query = query.where(sessions_t.c.owner_id == owner)
        return [_session(r) for r in await self.conn.execute(query)]

    async def count_sessions(self, owner: str | None) -> int:
        query = select(func.count()).select_from(sessions_t)
        if owner is not None:
            query = query.where(sessions_t.c.owner_id == owner)
        return int((await self.conn.execute(query)).scalar_one())

    async def update_session(self, session_id: int, values: dict[str, Any]) -> None:
        if values:
            await self.conn.execute(
                update(sessions_t).where(sessions_t.c.id == session_id).values(**values)
            )

    async def delete_session(self, session_id: int) -> None:
        # The foreign key cascades too; deleting explicitly keeps it one statement clear.
        await self.conn.execute(
            delete(transactions_t).where(transactions_t.c.session_id == session_id)
        )
        await self.conn.execute(delete(sessions_t).where(sessions_t.c.id == session_id))

    async def sessions_of_model(self, model_id: int) -> list[int]:
        query = (
            select(sessions_t.c.id)
            .where(sessions_t.c.model_id == model_id)
            .order_by(sessions_t.c.id)
        )
        return [int(i) for i in (await self.conn.execute(query)).scalars()]

    # ------------------------------------------------------------ transactions

    async def totals(self, session_ids: list[int]) -> dict[int, Totals]:
        """Summed in Python: SQLite keeps the amounts as exact text, which SQL would sum
        as floats."""
        out: dict[int, Totals] = {}
        if not session_ids:
            return out
        t = transactions_t
        query = select(t.c.session_id, t.c.type, t.c.amount, t.c.value).where(
            t.c.session_id.in_(session_ids)
        )
        for session_id, kind, amount, value in await self.conn.execute(query):
            totals = out.setdefault(int(session_id), Totals())
            totals.trades += 1
            if kind == "Purchase":
                totals.bought += amount
                totals.spent += value
            else:
                totals.sold += amount
                totals.earned += value
        return out

    async def add_transaction(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(
            insert(transactions_t).values(**values).returning(transactions_t.c.id)
        )
        return int(result.scalar_one())

    async def add_transactions(self, rows: list[dict[str, Any]]) -> None:
        """Many transactions at once (paper trading's bookings)."""
        for start in range(0, len(rows), 500):
            await self.conn.execute(insert(transactions_t), rows[start : start + 500])

    async def transaction(self, session_id: int, transaction_id: int) -> TransactionRecord | None:
        t = transactions_t
        query = select(t).where(t.c.id == transaction_id, t.c.session_id == session_id)
        row = (await self.conn.execute(query)).first()
        return _transaction(row) if row else None

    async def transactions(
        self, session_id: int, *, limit: int, offset: int
    ) -> list[TransactionRecord]:
        t = transactions_t
        query = (
            select(t)
            .where(t.c.session_id == session_id)
            .order_by(t.c.step.is_(None), t.c.step, t.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_transaction(r) for r in await self.conn.execute(query)]

    async def count_transactions(self, session_id: int) -> int:
        t = transactions_t
        query = select(func.count()).select_from(t).where(t.c.session_id == session_id)
        return int((await self.conn.execute(query)).scalar_one())

    async def update_transaction(self, transaction_id: int, values: dict[str, Any]) -> None:
        if values:
            await self.conn.execute(
                update(transactions_t).where(transactions_t.c.id == transaction_id).values(**values)
            )

    async def delete_transaction(self, transaction_id: int) -> None:
        await self.conn.execute(delete(transactions_t).where(transactions_t.c.id == transaction_id))

    # ------------------------------------------------------------ models

    async def add_model(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(insert(models_t).values(**values).returning(models_t.c.id))
        return int(result.scalar_one())

    async def model(self, model_id: int, owner: str | None) -> ModelRecord | None:
        query = select(models_t).where(models_t.c.id == model_id)
        if owner is not None:
            query = query.where(models_t.c.owner_id == owner)
        row = (await self.conn.execute(query)).first()
        return _model(row) if row else None

    async def model_by_name(self, owner: str, name: str, version: str) -> ModelRecord | None:
        m = models_t
        query = select(m).where(m.c.owner_id == owner, m.c.name == name, m.c.version == version)
        row = (await self.conn.execute(query)).first()
        return _model(row) if row else None

    async def models(
        self,
        owner: str | None,
        *,
        name: str | None,
        dataset_label: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ModelRecord], int]:
        m = models_t
        where = []
        if owner is not None:
            where.append(m.c.owner_id == owner)
        if name is not None:
            where.append(m.c.name == name)
        if dataset_label is not None:
            where.append(m.c.dataset_label == dataset_label)
        rows = await self.conn.execute(
            select(m).where(*where).order_by(m.c.id).limit(limit).offset(offset)
        )
        total = await self.conn.execute(select(func.count()).select_from(m).where(*where))
        return [_model(r) for r in rows], int(total.scalar_one())

    async def update_model(self, model_id: int, values: dict[str, Any]) -> None:
        if values:
            await self.conn.execute(
                update(models_t).where(models_t.c.id == model_id).values(**values)
            )

    async def delete_model(self, model_id: int) -> None:
        await self.conn.execute(
            update(sessions_t).where(sessions_t.c.model_id == model_id).values(model_id=None)
        )
        await self.conn.execute(delete(models_t).where(models_t.c.id == model_id))
