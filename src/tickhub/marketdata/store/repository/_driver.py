"""The hot reads' statements, run on the driver itself (aiosqlite or asyncpg) on the unit
of work's connection: rows come back as the driver's tuples (asyncpg records), without
SQLAlchemy's compile-cache lookup and its `Row` per fetched row, which cost more than the
query itself for the 1,440 rollups of a day or the 86,400 prices of seed 004's day.

The SQL is written once with `?` placeholders and numbered (`$1`, `$2`, …) for asyncpg.

Seed 004's prices (`fetch_prices`) come back as columns: on PostgreSQL through
`COPY (…) TO STDOUT` in the binary format, read straight into numpy (no record per row:
asyncpg's record decoding was ~40 % of the samples of a day's answer); on SQLite from
the driver's tuples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

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


async def fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> Rows:
    """Every row of `sql` with `params`, in one round trip to the driver."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name == "postgresql":
        rows: Rows = await driver.fetch(_numbered(sql), *params)
        return rows
    found: Rows = await driver.execute_fetchall(sql, tuple(params))
    return found


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_COPY_ROW = np.dtype(
    [("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("ts_len", ">i4"), ("ts", ">i8"),
     ("price_len", ">i4"), ("price", ">f8")]
)  # fmt: skip
"""One row of `COPY … (FORMAT binary)` of (int8, int8, float8): a field count, then each
field's length and its big-endian value."""


async def fetch_prices(conn: AsyncConnection, sql: str, params: Sequence[int]) -> PriceColumns:
    """(trade id, ts, price) columns of `sql` (one of the `PRICES…` statements) with
    integer `params`, in one round trip to the driver."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.dialect.name != "postgresql":
        return PriceColumns.of_rows(await driver.execute_fetchall(sql, tuple(params)))
    # COPY takes no parameters: the integers are written into the statement, as int8
    # literals (a bare -9223372036854775808 would be a numeric, and miss the index).
    values = iter([f"'{int(p)}'::int8" for p in params])
    query = re.sub(r"\?", lambda _: next(values), sql.replace(_PRICES_SELECT, _PRICES_CAST))
    parts: list[bytes] = []

    async def keep(data: bytes) -> None:
        parts.append(bytes(data))

    await driver.copy_from_query(query, output=keep, format="binary")
    return copy_columns(b"".join(parts))


def copy_columns(data: bytes) -> PriceColumns:
    """The columns of a binary COPY of (int8, int8, float8) rows, none of them NULL."""
    if not data.startswith(_COPY_SIGNATURE) or not data.endswith(b"\xff\xff"):
        raise ValueError("not the binary COPY format")
    start = len(_COPY_SIGNATURE) + 8 + int.from_bytes(data[15:19], "big")
    rows = np.frombuffer(data, dtype=_COPY_ROW, offset=start, count=(len(data) - start - 2) // 38)
    if start + 38 * len(rows) + 2 != len(data) or not (
        (rows["fields"] == 3).all()
        and (rows["id_len"] == 8).all()
        and (rows["ts_len"] == 8).all()
        and (rows["price_len"] == 8).all()
    ):
        raise ValueError("unexpected rows in a binary COPY of prices")
    return PriceColumns(
        rows["id"].astype(np.int64), rows["ts"].astype(np.int64), rows["price"].astype(np.float64)
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

_PRICES_SELECT = "SELECT trade_id, ts, price FROM"
_PRICES_CAST = "SELECT trade_id::int8, ts::int8, price::float8 FROM"
"""PostgreSQL's COPY of the prices names the types its binary rows are read as."""

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
