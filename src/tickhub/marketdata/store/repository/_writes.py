"""The writer's side of the market-data store: the registry of exchanges, assets and
instruments, the instrument lock, coverage ranges, trades (by COPY on PostgreSQL), candle
rollups, latest prices and rejected frames. Never commits: the caller's unit of work does.

Core, not the ORM, because the writer moves hundreds of thousands of rows a second.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Transaction, and_, case, delete, event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import Candle
from tickhub.marketdata.store.coverage import Range
from tickhub.marketdata.store.repository._tables import (
    assets_t,
    candles_t,
    coverage_t,
    dialect_insert,
    exchanges_t,
    insert,
    instruments_t,
    latest_t,
    rejected_t,
    trades_t,
)

_TRADE_COLUMNS = ("instrument_id", "trade_id", "ts", "price", "qty", "is_buyer_maker")
_INSERT_TRADES_QMARK = (
    "INSERT INTO trades (instrument_id, trade_id, ts, price, qty, is_buyer_maker) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (instrument_id, trade_id) DO NOTHING"
)
# PostgreSQL names no conflict target: on the partitioned table the key is (instrument_id,
# trade_id, ts), since a key must hold the partition column (migration 0003).
_INSERT_TRADES_PG = (
    "INSERT INTO trades (instrument_id, trade_id, ts, price, qty, is_buyer_maker) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)

# PostgreSQL bulk path: COPY into a temporary table of the session, then one INSERT … SELECT
# that skips what is already stored. The temporary table empties itself at every commit.
_STAGING = "trades_staging"
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS trades_staging (LIKE trades INCLUDING DEFAULTS) "
    "ON COMMIT DELETE ROWS"
)
_INSERT_FROM_STAGING = (
    "INSERT INTO trades (instrument_id, trade_id, ts, price, qty, is_buyer_maker) "
    "SELECT instrument_id, trade_id, ts, price, qty, is_buyer_maker FROM trades_staging "
    "ON CONFLICT DO NOTHING"
)
_CLEAR_STAGING = "DELETE FROM trades_staging"
# Set in the pooled connection's `info` once the staging table was created in a
# transaction that committed (a rolled-back CREATE leaves no table behind).
_STAGING_READY = "tickhub.trades_staging"
# Transactions whose staging table already holds rows (it empties only at commit): a
# second COPY in one of them clears it first. Weak, so finished transactions drop out.
_STAGED_IN: weakref.WeakSet[Transaction] = weakref.WeakSet()


@cache
def _merge_candles_stmt(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE that folds a candle delta into the stored candle.

    Built once per dialect: the writer runs it for every batch.
    """
    greatest, least = (
        (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    )
    ins = dialect_insert(dialect, candles_t)
    ex, cur = ins.excluded, candles_t.c
    earlier = or_(
        ex.open_ts < cur.open_ts, and_(ex.open_ts == cur.open_ts, ex.open_id < cur.open_id)
    )
    later = or_(
        ex.close_ts > cur.close_ts, and_(ex.close_ts == cur.close_ts, ex.close_id > cur.close_id)
    )
    return ins.on_conflict_do_update(
        index_elements=["instrument_id", "resolution", "start"],
        set_={
            "open": case((earlier, ex.open), else_=cur.open),
            "open_ts": case((earlier, ex.open_ts), else_=cur.open_ts),
            "open_id": case((earlier, ex.open_id), else_=cur.open_id),
            "close": case((later, ex.close), else_=cur.close),
            "close_ts": case((later, ex.close_ts), else_=cur.close_ts),
            "close_id": case((later, ex.close_id), else_=cur.close_id),
            "high": greatest(cur.high, ex.high),
            "low": least(cur.low, ex.low),
            "volume": cur.volume + ex.volume,
            "quote_volume": cur.quote_volume + ex.quote_volume,
            "trade_count": cur.trade_count + ex.trade_count,
            "price_sum": cur.price_sum + ex.price_sum,
            "price_m2": case(
                (cur.trade_count == 0, ex.price_m2),
                else_=cur.price_m2
                + ex.price_m2
                + (ex.price_sum / ex.trade_count - cur.price_sum / cur.trade_count)
                * (ex.price_sum / ex.trade_count - cur.price_sum / cur.trade_count)
                * cur.trade_count
                * ex.trade_count
                / (cur.trade_count + ex.trade_count),
            ),
        },
    )


@cache
def _upsert_latest_stmt(dialect: str) -> Any:
    ins = dialect_insert(dialect, latest_t)
    ex, cur = ins.excluded, latest_t.c
    return ins.on_conflict_do_update(
        index_elements=["instrument_id"],
        set_={"trade_id": ex.trade_id, "ts": ex.ts, "price": ex.price, "qty": ex.qty},
        where=or_(ex.ts > cur.ts, and_(ex.ts == cur.ts, ex.trade_id > cur.trade_id)),
    )


def _staging_committed(conn: Connection) -> None:
    conn.connection.info[_STAGING_READY] = True


class MarketDataWrites:
    """The writer's statements, on the connection of the caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ registry

    async def ensure_exchange(self, name: str, *, simulated: bool = False) -> int:
        stmt = insert(self.conn, exchanges_t).values(name=name, simulated=simulated)
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        ex_id = await self.conn.scalar(select(exchanges_t.c.id).where(exchanges_t.c.name == name))
        assert ex_id is not None
        return int(ex_id)

    async def ensure_asset(self, symbol: str, name: str) -> None:
        stmt = insert(self.conn, assets_t).values(symbol=symbol, name=name)
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["symbol"]))

    async def ensure_instrument(
        self, exchange_id: int, symbol: str, base: str, quote: str, created_at: int
    ) -> int:
        stmt = insert(self.conn, instruments_t).values(
            exchange_id=exchange_id, symbol=symbol, base=base, quote=quote, created_at=created_at
        )
        await self.conn.execute(
            stmt.on_conflict_do_nothing(index_elements=["exchange_id", "symbol"])
        )
        inst_id = await self.conn.scalar(
            select(instruments_t.c.id).where(
                instruments_t.c.exchange_id == exchange_id, instruments_t.c.symbol == symbol
            )
        )
        assert inst_id is not None
        return int(inst_id)

    async def lock_instrument(self, instrument_id: int) -> None:
        """Serialise the writers of one instrument.

        A row lock on PostgreSQL; on SQLite, the database write lock.
        """
        await self.conn.execute(
            update(instruments_t)
            .where(instruments_t.c.id == instrument_id)
            .values(symbol=instruments_t.c.symbol)
        )

    # ------------------------------------------------------------ writes

    async def coverage_near(self, instrument_id: int, lo: int, hi: int) -> list[tuple[int, Range]]:
        """Ranges that overlap or touch [lo, hi], with their row ids, by first id."""
        c = coverage_t.c
        rows = await self.conn.execute(
            select(c.id, c.first_id, c.last_id, c.first_ts, c.last_ts)
            .where(c.instrument_id == instrument_id, c.last_id >= lo - 1, c.first_id <= hi + 1)
            .order_by(c.first_id)
        )
        return [(r[0], Range(r[1], r[2], r[3], r[4])) for r in rows]

    async def replace_coverage(
        self, instrument_id: int, old_row_ids: Sequence[int], ranges: Sequence[Range]
    ) -> None:
        if old_row_ids:
            await self.conn.execute(delete(coverage_t).where(coverage_t.c.id.in_(old_row_ids)))
        if ranges:
            await self.conn.execute(
                coverage_t.insert(),
                [
                    {
                        "instrument_id": instrument_id,
                        "first_id": r.first_id,
                        "last_id": r.last_id,
                        "first_ts": r.first_ts,
                        "last_ts": r.last_ts,
                    }
                    for r in ranges
                ],
            )

    async def insert_trades(self, instrument_id: int, trades: Sequence[Trade]) -> None:
        """Bulk insert; an id already stored is skipped (the writer filters first, this is
        the second guard). Rows go to the driver as plain tuples: this is the hot path.

        On PostgreSQL the rows travel by COPY (see `_copy_trades`)."""
        if not trades:
            return
        rows = [(instrument_id, t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in trades]
        if self.conn.dialect.name == "postgresql":
            await self._copy_trades(rows)
            return
        await self.conn.exec_driver_sql(_INSERT_TRADES_QMARK, rows)

    async def _copy_trades(self, rows: list[tuple[Any, ...]]) -> None:
        """COPY the rows into the session's staging table, then move the new ones to
        `trades`, all inside the caller's transaction.

        Idempotency is unchanged: the writer has already set aside the ids its coverage
        ranges hold (under the instrument lock), and ON CONFLICT DO NOTHING skips an exact
        replay, which carries the same `ts` and so hits the key (instrument_id, trade_id, ts).
        """
        raw = await self.conn.get_raw_connection()
        driver = raw.driver_connection  # the asyncpg connection
        sync = self.conn.sync_connection
        assert driver is not None and sync is not None
        ready = bool(raw.info.get(_STAGING_READY))
        if not ready or not driver.is_in_transaction():
            # Through SQLAlchemy, so its driver adapter opens the transaction it would
            # otherwise open lazily: COPY on the raw connection must run inside it.
            await self.conn.exec_driver_sql(_CREATE_STAGING)
            if not ready:
                event.listen(sync, "commit", _staging_committed, once=True)
        if not driver.is_in_transaction():  # an AUTOCOMMIT engine: no staging possible
            await self.conn.exec_driver_sql(_INSERT_TRADES_PG, rows)
            return
        tx = sync.get_transaction()
        if tx is not None and tx in _STAGED_IN:
            await self.conn.exec_driver_sql(_CLEAR_STAGING)
        try:
            await driver.copy_records_to_table(_STAGING, records=rows, columns=_TRADE_COLUMNS)
        except Exception:
            raw.info.pop(_STAGING_READY, None)  # e.g. the table is gone: create it next time
            raise
        if tx is not None:
            _STAGED_IN.add(tx)
        await self.conn.exec_driver_sql(_INSERT_FROM_STAGING)

    async def stored_trades_between(
        self, instrument_id: int, start: int, end: int
    ) -> list[tuple[int, int]]:
        """(ts, trade_id) of stored trades with start <= ts < end."""
        c = trades_t.c
        rows = await self.conn.execute(
            select(c.ts, c.trade_id).where(
                c.instrument_id == instrument_id, c.ts >= start, c.ts < end
            )
        )
        return [(r[0], r[1]) for r in rows]

    async def delete_trades(self, instrument_id: int, trade_ids: Sequence[int]) -> None:
        if trade_ids:
            await self.conn.execute(
                delete(trades_t).where(
                    trades_t.c.instrument_id == instrument_id, trades_t.c.trade_id.in_(trade_ids)
                )
            )

    async def merge_candles(
        self, instrument_id: int, resolution: int, candles: Sequence[Candle]
    ) -> None:
        """Add candle deltas (built from trades not seen before) into the stored rollups.

        `resolution` is in microseconds like every time here; the column keeps seconds.
        """
        if not candles:
            return
        res_s = resolution // 1_000_000
        await self.conn.execute(
            _merge_candles_stmt(self.conn.dialect.name),
            [
                {
                    "instrument_id": instrument_id,
                    "resolution": res_s,
                    "start": c.start,
                    "open": c.open,
                    "high": c.high,
                    "low": c.low,
                    "close": c.close,
                    "volume": c.volume,
                    "quote_volume": c.quote_volume,
                    "trade_count": c.trade_count,
                    "open_ts": c.open_ts,
                    "open_id": c.open_id,
                    "close_ts": c.close_ts,
                    "close_id": c.close_id,
                    "price_sum": c.price_sum,
                    "price_m2": c.price_m2,
                }
                for c in candles
            ],
        )

    async def upsert_latest(self, instrument_id: int, t: Trade) -> None:
        """Offer a trade as the latest price; only a later (time, id) replaces the stored one."""
        await self.conn.execute(
            _upsert_latest_stmt(self.conn.dialect.name),
            {
                "instrument_id": instrument_id,
                "trade_id": t.trade_id,
                "ts": t.ts,
                "price": t.price,
                "qty": t.qty,
            },
        )

    async def add_rejected(self, source: str, raw: str, error: str, received_at: int) -> None:
        await self.conn.execute(
            rejected_t.insert().values(source=source, raw=raw, error=error, received_at=received_at)
        )
