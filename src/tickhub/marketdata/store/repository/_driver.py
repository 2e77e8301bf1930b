"""The hot reads' statements, run on the driver itself (aiosqlite or asyncpg) on the unit
of work's connection: rows come back as the driver's tuples (asyncpg records), without
SQLAlchemy's compile-cache lookup and its `Row` per fetched row, which cost more than the
query itself for the 1,440 rollups of a day or the 86,400 prices of seed 004's day.

The SQL is written once with `?` placeholders and numbered (`$1`, `$2`, …) for asyncpg.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

Rows = Sequence[Sequence[Any]]


@cache
def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1`, `$2`, … (the statements here hold no `?`
    inside a literal)."""
    count = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


async def fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> Rows:
    """Every row of `sql` with `params`, in one round trip to the driver."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "postgresql":
        rows: Rows = await driver.fetch(_numbered(sql), *params)
        return rows
    found: Rows = await driver.execute_fetchall(sql, tuple(params))
    return found


ROLLUPS_SQL = (
    "SELECT start, open, high, low, close, volume, quote_volume, trade_count, price_sum, "
    "price_m2 FROM candles WHERE instrument_id = ? AND resolution = ? AND start >= ? "
    "AND start < ? ORDER BY start"
)
"""The rollups of one resolution with start <= candle start < end, oldest first."""

PRICES_SQL = (
    "SELECT trade_id, ts, price FROM trades WHERE instrument_id = ? AND ts >= ? AND ts <= ? "
    "ORDER BY ts, trade_id LIMIT ?"
)
"""(trade id, ts, price) of a window in (ts, trade id) order: the first page."""

PRICES_AFTER_SQL = (
    "SELECT trade_id, ts, price FROM trades WHERE instrument_id = ? AND ts >= ? AND ts <= ? "
    "AND (ts > ? OR trade_id > ?) ORDER BY ts, trade_id LIMIT ?"
)
"""The next page, after the (ts, trade id) of the last row of the previous one (the
`ts >= ?` keeps the index range tight: the `OR` alone would not bound it)."""

TRADE_PRICES_SQL = (
    "SELECT ts, price, qty FROM trades WHERE instrument_id = ? AND ts >= ? AND ts <= ? "
    "ORDER BY ts, trade_id LIMIT ?"
)
"""(ts, price, qty) of the trades of a window in (ts, trade id) order, at most LIMIT."""

PRICE_LIST_SQL = (
    "SELECT price FROM trades WHERE instrument_id = ? AND ts >= ? AND ts <= ? "
    "ORDER BY ts, trade_id LIMIT ?"
)
"""The prices of a window in (ts, trade id) order, at most LIMIT."""
