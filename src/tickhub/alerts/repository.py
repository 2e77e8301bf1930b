"""Alerts queries (SQLAlchemy Core): strategies, alerts and their deliveries. Never
commits: the service (or the scanner) owns the transaction.

Every read of a user's object filters on its owner, so another user's object is simply
not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.alerts.models import AlertDelivery, AlertRow, AlertTarget, Strategy

strategies_t = cast(Table, Strategy.__table__)
alerts_t = cast(Table, AlertRow.__table__)
deliveries_t = cast(Table, AlertDelivery.__table__)
targets_t = cast(Table, AlertTarget.__table__)


@dataclass(frozen=True, slots=True)
class StrategyRecord:
    id: int
    user_id: str
    name: str
    instruments: list[str]
    interval: str
    interval_s: int
    condition: str
    cooldown_s: int
    channels: list[dict[str, Any]]
    active: bool
    created_at: datetime
    updated_at: datetime
    paper_session_id: int | None = None
    paper_side: str | None = None
    paper_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert: what the API lists and the notifiers render (see `alert_record`)."""

    id: int
    user_id: str
    strategy_id: int | None
    strategy_name: str
    exchange: str
    symbol: str
    interval: str
    candle_start: int  # µs
    candle_close: int  # µs
    condition: str
    values: dict[str, float | None]
    close: float
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    alert_id: int
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    response_status: int | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which of a user's alerts to list; times are candle close times in µs, `start`
    inclusive and `end` exclusive; `symbols` are the spellings that match."""

    strategy_id: int | None = None
    exchange: str | None = None
    symbols: tuple[str, ...] = ()
    start: int | None = None
    end: int | None = None


def _record(cls: Any, row: Row[Any]) -> Any:
    return cls(**{k: row._mapping[k] for k in cls.__slots__})


def alert_record(row: Row[Any]) -> AlertRecord:
    """The alert in a row that holds every column of `alerts` (and maybe more)."""
    return cast(AlertRecord, _record(AlertRecord, row))


class AlertsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ strategies

    async def add_strategy(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(
            insert(strategies_t).values(**values).returning(strategies_t.c.id)
        )
        return int(result.scalar_one())

    async def strategy(self, strategy_id: int, user_id: str) -> StrategyRecord | None:
        query = select(strategies_t).where(
            strategies_t.c.id == strategy_id, strategies_t.c.user_id == user_id
        )
        row = (await self.conn.execute(query)).first()
        return cast(StrategyRecord, _record(StrategyRecord, row)) if row else None

    async def strategy_named(self, user_id: str, name: str) -> int | None:
        query = select(strategies_t.c.id).where(
            strategies_t.c.user_id == user_id, strategies_t.c.name == name
        )
        found = (await self.conn.execute(query)).scalar_one_or_none()
        return None if found is None else int(found)

    async def strategies(self, user_id: str, *, limit: int, offset: int) -> list[StrategyRecord]:
        query = (
            select(strategies_t)
            .where(strategies_t.c.user_id == user_id)
            .order_by(strategies_t.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [_record(StrategyRecord, r) for r in await self.conn.execute(query)]

    async def count_strategies(self, user_id: str) -> int:
        query = (
            select(func.count()).select_from(strategies_t).where(strategies_t.c.user_id == user_id)
        )
        return int((await self.conn.execute(query)).scalar_one())

    async def update_strategy(self, strategy_id: int, values: dict[str, Any]) -> None:
        if values:
            await self.conn.execute(
                update(strategies_t).where(strategies_t.c.id == strategy_id).values(**values)
            )

    async def delete_strategy(self, strategy_id: int) -> None:
        """Its marks go with it (cascade); its alerts stay, with `strategy_id` null."""
        await self.conn.execute(delete(strategies_t).where(strategies_t.c.id == strategy_id))

    # ------------------------------------------------------------ alerts

    async def add_alert(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(insert(alerts_t).values(**values).returning(alerts_t.c.id))
        return int(result.scalar_one())

    async def add_delivery(self, values: dict[str, Any]) -> int:
        result = await self.conn.execute(
            insert(deliveries_t).values(**values).returning(deliveries_t.c.id)
        )
        return int(result.scalar_one())

    async def alert(self, alert_id: int, user_id: str) -> AlertRecord | None:
        query = select(alerts_t).where(alerts_t.c.id == alert_id, alerts_t.c.user_id == user_id)
        row = (await self.conn.execute(query)).first()
        return alert_record(row) if row else None

    async def alerts(
        self, user_id: str, wanted: AlertFilter, *, before_id: int | None, limit: int
    ) -> list[AlertRecord]:
        """Newest first (by id: alerts are numbered as they are stored)."""
        c = alerts_t.c
        query = select(alerts_t).where(c.user_id == user_id)
        if before_id is not None:
            query = query.where(c.id < before_id)
        if wanted.strategy_id is not None:
            query = query.where(c.strategy_id == wanted.strategy_id)
        if wanted.exchange is not None:
            query = query.where(func.lower(c.exchange) == wanted.exchange.lower())
        if wanted.symbols:
            query = query.where(c.symbol.in_(wanted.symbols))
        if wanted.start is not None:
            query = query.where(c.candle_close >= wanted.start)
        if wanted.end is not None:
            query = query.where(c.candle_close < wanted.end)
        query = query.order_by(c.id.desc()).limit(limit)
        return [alert_record(r) for r in await self.conn.execute(query)]

    async def deliveries(self, alert_id: int) -> list[DeliveryRecord]:
        query = (
            select(deliveries_t)
            .where(deliveries_t.c.alert_id == alert_id)
            .order_by(deliveries_t.c.id)
        )
        return [_record(DeliveryRecord, r) for r in await self.conn.execute(query)]
