"""The hot reads' statements, run on the driver itself (aiosqlite or asyncpg) on the unit
of work's connection: rows come back as the driver's tuples (asyncpg records), without
SQLAlchemy's compile-cache lookup and its `Row` per fetched row, which cost more than the
query itself for the 1,440 rollups of a day or the 86,400 prices of seed 004's day.

The SQL is written once with `?` placeholders and numbered (`$1`, `$2`, …) for asyncpg.

Seed 004's prices (`fetch_prices`) come back as columns: on PostgreSQL as one row of
three binary strings, each column's values in PostgreSQL's own binary form (8 bytes
each, big-endian: `int8send`, `float8send`) joined by `string_agg` over the page, which
numpy reads as they are: no Python object per value. (A record per row had been ~40 %
of the samples of a day's answer; `array_agg`, an array of Python numbers per column,
1.5–2.0 ms of client CPU and 4.2 ms of wall time per page of 10,000; the binary strings
0.3 ms and 2.3 ms.) On SQLite they come from the driver's tuples.

On SQLite one of these reads runs at a time in a process (`_one_at_a_time`). Each runs
on its connection's aiosqlite thread, which gives up the GIL for every row it steps and
takes it back to build the row: with 16 such threads at once (16 requests, 15 pooled
connections), each row waited for the others, and a day's prices cost 744 ms of CPU
instead of 197 (an hour's 16.6 ms instead of 9.4). Taking turns, one thread steps and
builds its rows while the event loop encodes the rows already read.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.store.repository._records import PriceColumns

Rows = Sequence[Sequence[Any]]


@cache
def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1`, `$2`, … (the statements here hold no `?`
    inside a literal)."""
    count = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _one_at_a_time() -> asyncio.Lock:
    """The turn SQLite's reads here take, one per event loop (a process's API)."""
    loop = asyncio.get_running_loop()
    turn = _turns.get(loop)
    if turn is None:
        turn = _turns[loop] = asyncio.Lock()
    return turn


async def _sqlite_rows(driver: Any, sql: str, params: Sequence[Any]) -> Rows:
    async with _one_at_a_time():
        rows: Rows = await driver.execute_fetchall(sql, tuple(params))
    return rows


async def fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> Rows:
    """Every row of `sql` with `params`, in one round trip to the driver."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "postgresql":
        rows: Rows = await driver.fetch(_numbered(sql), *params)
        return rows
    return await _sqlite_rows(driver, sql, params)


async def fetch_prices(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> PriceColumns:
    """(trade id, ts, price) columns of `sql` (one of the `PRICES…` statements) with
    `params`, in one round trip to the driver."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name != "postgresql":
        rows = await _sqlite_rows(driver, sql, params)  # the driver's tuples
        return PriceColumns.of_rows(cast("Sequence[tuple[Any, ...]]", rows))
    ids, times, prices = await driver.fetchrow(_binary_columns(sql), *params)
    return PriceColumns(
        _column(ids, _BIG_INT64, np.int64),
        _column(times, _BIG_INT64, np.int64),
        _column(prices, _BIG_FLOAT64, np.float64),
    ).in_order()


_BIG_INT64 = np.dtype(">i8")
_BIG_FLOAT64 = np.dtype(">f8")


def _column(data: bytes | None, stored: np.dtype[Any], native: type[np.generic]) -> Any:
    """A column sent as PostgreSQL's binary values (None: no row), in native order."""
    return np.frombuffer(data or b"", dtype=stored).astype(native)


@cache
def _binary_columns(sql: str) -> str:
    """`sql`'s page as one row of three binary strings, its columns' values in
    PostgreSQL's binary form, in its order (the aggregates read the ordered subquery as
    it comes, one row feeding all three; `PriceColumns.in_order` checks the order)."""
    page = _numbered(sql)  # one of the fixed statements above
    return (
        "SELECT string_agg(int8send(trade_id), ''), string_agg(int8send(ts), ''), "  # noqa: S608
        f"string_agg(float8send(price), '') FROM ({page}) AS page"
    )


INSTRUMENTS_SQL = (
    "SELECT instruments.id, exchanges.name, instruments.symbol, instruments.base, "
    "instruments.quote, exchanges.simulated FROM instruments JOIN exchanges "
    "ON instruments.exchange_id = exchanges.id ORDER BY exchanges.name, instruments.symbol"
)
"""Every instrument with its exchange's name and whether it is simulated."""

EXCHANGE_INSTRUMENTS_SQL = INSTRUMENTS_SQL.replace(
    " ORDER BY", " WHERE exchanges.name = ? ORDER BY"
)
"""The instruments of one exchange."""


@cache
def covered_edge_sql(count: int, *, latest: bool) -> tuple[str, str]:
    """The earliest (latest) processed time of `count` instruments: from the coverage
    ranges, then (when none is recorded) from the stored trades."""
    edge, column = ("max", "last_ts") if latest else ("min", "first_ts")
    ids = ", ".join("?" * count)
    # Only fixed names and `?` placeholders are written into the text.
    return (
        f"SELECT {edge}({column}) FROM coverage WHERE instrument_id IN ({ids})",  # noqa: S608
        f"SELECT {edge}(ts) FROM trades WHERE instrument_id IN ({ids})",  # noqa: S608
    )


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
