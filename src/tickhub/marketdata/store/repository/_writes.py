"""The writer's side of the market-data store: the registry of exchanges, assets and
instruments, the instrument lock, coverage ranges, trades (by COPY on PostgreSQL), candle
rollups, latest prices and rejected frames. Never commits: the caller's unit of work does.

Core, not the ORM, because the writer moves hundreds of thousands of rows a second.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Transaction, delete, event, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import MINUTE, Candle
from tickhub.marketdata.store.coverage import Range
from tickhub.marketdata.store.repository._statements import CANDLE_COLUMNS, hot_statements
from tickhub.marketdata.store.repository._tables import (
    assets_t,
    candles_t,
    coverage_t,
    exchanges_t,
    insert,
    instruments_t,
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

    async def lock_instruments(self, instrument_ids: Iterable[int]) -> None:
        """Serialise the writers of these instruments (taken in id order).

        Row locks on PostgreSQL; on SQLite, the database write lock.
        """
        hot = hot_statements(self.conn.dialect)["lock"]
        rows = [hot.args({"id": i}) for i in sorted(set(instrument_ids))]
        if rows:
            await self.conn.exec_driver_sql(hot.sql, rows)

    async def lock_instrument(self, instrument_id: int) -> None:
        await self.lock_instruments([instrument_id])

    # ------------------------------------------------------------ writes

    async def coverage_near(self, instrument_id: int, lo: int, hi: int) -> list[tuple[int, Range]]:
        """Ranges that overlap or touch [lo, hi], with their row ids, by first id."""
        return (await self.coverage_near_many({instrument_id: (lo, hi)})).get(instrument_id, [])

    async def coverage_near_many(
        self, bounds: Mapping[int, tuple[int, int]]
    ) -> dict[int, list[tuple[int, Range]]]:
        """For each instrument, the ranges that overlap or touch its [lo, hi], with their
        row ids, by first id: one query for all of them."""
        if not bounds:
            return {}
        c = coverage_t.c
        lo = min(b[0] for b in bounds.values())
        hi = max(b[1] for b in bounds.values())
        rows = await self.conn.execute(
            select(c.instrument_id, c.id, c.first_id, c.last_id, c.first_ts, c.last_ts)
            .where(c.instrument_id.in_(list(bounds)), c.last_id >= lo - 1, c.first_id <= hi + 1)
            .order_by(c.instrument_id, c.first_id)
        )
        out: dict[int, list[tuple[int, Range]]] = {}
        for r in rows:
            i_lo, i_hi = bounds[r[0]]
            if r[3] >= i_lo - 1 and r[2] <= i_hi + 1:
                out.setdefault(r[0], []).append((r[1], Range(r[2], r[3], r[4], r[5])))
        return out

    async def replace_coverage(
        self, instrument_id: int, old_row_ids: Sequence[int], ranges: Sequence[Range]
    ) -> None:
        await self.replace_coverage_many(old_row_ids, [(instrument_id, r) for r in ranges])

    async def replace_coverage_many(
        self, old_row_ids: Sequence[int], ranges: Sequence[tuple[int, Range]]
    ) -> None:
        """Delete the rows `old_row_ids`, then store `ranges` (instrument id, range)."""
        hot = hot_statements(self.conn.dialect)
        if old_row_ids:
            delete_ = hot["delete_coverage"]
            await self.conn.exec_driver_sql(
                delete_.sql, [delete_.args({"id": i}) for i in old_row_ids]
            )
        if ranges:
            insert_ = hot["insert_coverage"]
            await self.conn.exec_driver_sql(
                insert_.sql,
                [
                    insert_.args(
                        {
                            "instrument_id": inst,
                            "first_id": r.first_id,
                            "last_id": r.last_id,
                            "first_ts": r.first_ts,
                            "last_ts": r.last_ts,
                        }
                    )
                    for inst, r in ranges
                ],
            )

    async def insert_trades(self, instrument_id: int, trades: Sequence[Trade]) -> None:
        """Bulk insert; an id already stored is skipped (the writer filters first, this is
        the second guard). Rows go to the driver as plain tuples: this is the hot path.

        On PostgreSQL the rows travel by COPY (see `_copy_trades`)."""
        await self.insert_trade_rows(
            [(instrument_id, t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in trades]
        )

    async def insert_trade_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """`insert_trades` for rows (instrument_id, trade_id, ts, price, qty,
        is_buyer_maker) of any instruments."""
        if not rows:
            return
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
        await self.merge_candles_many([(instrument_id, resolution, c) for c in candles])

    async def merge_candles_many(self, deltas: Sequence[tuple[int, int, Candle]]) -> None:
        """Add candle deltas (instrument id, resolution, candle built from trades not seen
        before) into the stored rollups, in one statement.

        A resolution is in microseconds like every time here; the column keeps seconds.
        """
        if not deltas:
            return
        hot = hot_statements(self.conn.dialect)["merge_candles"]
        await self.conn.exec_driver_sql(
            hot.sql,
            [
                hot.args(
                    {
                        "instrument_id": inst,
                        "resolution": res // 1_000_000,
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
                )
                for inst, res, c in deltas
            ],
        )

    async def upsert_latest(self, instrument_id: int, t: Trade) -> None:
        """Offer a trade as the latest price; only a later (time, id) replaces the stored one."""
        await self.upsert_latest_many([(instrument_id, t)])

    async def upsert_latest_many(self, offers: Sequence[tuple[int, Trade]]) -> None:
        """`upsert_latest` for several instruments, in one statement."""
        if not offers:
            return
        hot = hot_statements(self.conn.dialect)["upsert_latest"]
        await self.conn.exec_driver_sql(
            hot.sql,
            [
                hot.args(
                    {
                        "instrument_id": inst,
                        "trade_id": t.trade_id,
                        "ts": t.ts,
                        "price": t.price,
                        "qty": t.qty,
                    }
                )
                for inst, t in offers
            ],
        )

    async def minute_candles_since(self, firsts: Mapping[int, int]) -> dict[int, list[Candle]]:
        """For each instrument, its stored 1 m rollups from its given start on, oldest first:
        what the writer announces after a commit. One query for all of them."""
        if not firsts:
            return {}
        c = candles_t.c
        rows = await self.conn.execute(
            select(c.instrument_id, *CANDLE_COLUMNS)
            .where(
                c.instrument_id.in_(list(firsts)),
                c.resolution == MINUTE // 1_000_000,
                c.start >= min(firsts.values()),
            )
            .order_by(c.instrument_id, c.start)
        )
        out: dict[int, list[Candle]] = {}
        for r in rows:
            if r[1] >= firsts[r[0]]:
                out.setdefault(r[0], []).append(Candle(*r[1:]))
        return out

    async def add_rejected(self, source: str, raw: str, error: str, received_at: int) -> None:
        await self.conn.execute(
            rejected_t.insert().values(source=source, raw=raw, error=error, received_at=received_at)
        )
