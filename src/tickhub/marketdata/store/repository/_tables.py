"""The market-data tables as SQLAlchemy Core objects, and the dialect's INSERT."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.store.models import (
    Asset,
    CandleRow,
    CoverageRange,
    Exchange,
    Instrument,
    LatestPrice,
    RejectedFrameRow,
    TradeRow,
)

trades_t = cast(Table, TradeRow.__table__)
candles_t = cast(Table, CandleRow.__table__)
latest_t = cast(Table, LatestPrice.__table__)
coverage_t = cast(Table, CoverageRange.__table__)
instruments_t = cast(Table, Instrument.__table__)
exchanges_t = cast(Table, Exchange.__table__)
assets_t = cast(Table, Asset.__table__)
rejected_t = cast(Table, RejectedFrameRow.__table__)


def insert(conn: AsyncConnection, table: Any) -> Any:
    return dialect_insert(conn.dialect.name, table)


def dialect_insert(dialect: str, table: Any) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
