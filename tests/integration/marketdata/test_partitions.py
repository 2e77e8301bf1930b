"""Time partitions of `trades` on PostgreSQL (migration 0003, marketdata/partitions.py) and
the COPY write path: partitions ahead with no gap and no overlap, rows at the edges of a
period, rows moving out of the default partition, retention, idempotent writes on the
partitioned table, partition pruning. SQLite: maintenance does nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.conftest import PG_URL
from tests.integration.marketdata.test_writer import (
    check_candles_against_trades,
    make_trades,
    snapshot,
)
from tickhub.common.time import datetime_to_us
from tickhub.db import Base, create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store import partitions
from tickhub.marketdata.store.models import CandleRow, TradeRow
from tickhub.marketdata.store.partitions import PartitionInterval
from tickhub.marketdata.store.repository import MarketDataWrites, trades_t
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import alembic_config, upgrade
from tickhub.settings import Settings, StorageSettings

DAY = 86_400 * 1_000_000
NOW = datetime_to_us(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))  # a Friday
MONDAY = datetime_to_us(datetime(2026, 11, 16, tzinfo=UTC))

postgres = pytest.mark.postgres


def us(y: int, m: int, d: int) -> int:
    return datetime_to_us(datetime(y, m, d, tzinfo=UTC))


def storage(
    interval: PartitionInterval = "week", ahead: int = 4, retention_days: int = 0
) -> StorageSettings:
    return StorageSettings(
        _env_file=None,
        partition_interval=interval,
        partition_ahead=ahead,
        retention_days=retention_days,
    )


async def _reset(engine: AsyncEngine) -> None:
    """Empty tables and only the default partition, as right after the migration."""
    async with engine.begin() as conn:
        parts, _ = await partitions.list_partitions(conn)
        for p in parts:
            await conn.execute(text(f'DROP TABLE "{p.name}"'))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url)
    await _reset(engine)
    yield engine
    await _reset(engine)  # the other tests find the table as the migration left it
    await engine.dispose()


async def bounds(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(name, bound expression) of every partition of trades, read from pg_catalog."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'trades'::regclass ORDER BY c.relname"
            )
        )
        return [(r[0], r[1]) for r in rows]


def ranges_of(found: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    out = []
    for name, expr in found:
        if expr == "DEFAULT":
            continue
        prefix, _, rest = expr.partition("FROM ('")
        lo, _, rest = rest.partition("') TO ('")
        hi, _, _ = rest.partition("')")
        assert prefix == "FOR VALUES ", expr
        out.append((name, int(lo), int(hi)))
    return sorted(out, key=lambda r: r[1])


async def where_is(engine: AsyncEngine) -> dict[int, str]:
    """trade id → the partition holding it."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT trade_id, tableoid::regclass::text FROM trades"))
        return {r[0]: r[1] for r in rows}


async def write(engine: AsyncEngine, trades: list[Trade]) -> int:
    return await Writer(engine).write(TradeBatch("binance", "BTCUSDT", tuple(trades)))


# ------------------------------------------------------------------ periods (no database)


def test_period_starts_are_utc_midnights() -> None:
    t = NOW
    assert partitions.period_start(t, "day") == us(2026, 11, 20)
    assert partitions.period_start(t, "week") == us(2026, 11, 16)
    assert partitions.period_start(t, "month") == us(2026, 11, 1)
    assert partitions.next_period(us(2026, 12, 1), "month") == us(2027, 1, 1)
    assert partitions.period_start(us(2026, 11, 16) - 1, "week") == us(2026, 11, 9)
    assert partitions.period_start(us(2026, 11, 16), "week") == us(2026, 11, 16)
    assert partitions.partition_name(us(2027, 1, 1)) == "trades_p20270101"


def test_uncovered_fills_only_the_holes_between_existing_partitions() -> None:
    weeks = partitions.periods(us(2026, 11, 2), 2, "week")
    existing = [partitions.Partition(us(2026, 11, 5), us(2026, 11, 10), "by_hand")]
    got = partitions.uncovered(weeks, existing)
    assert [(p.start, p.end) for p in got] == [
        (us(2026, 11, 2), us(2026, 11, 5)),
        (us(2026, 11, 10), us(2026, 11, 16)),
    ]
    assert partitions.uncovered(weeks, [*existing, *got]) == []


# ------------------------------------------------------------------ migration


@postgres
async def test_migration_leaves_a_range_partitioned_trades_with_a_default(
    pg: AsyncEngine,
) -> None:
    async with pg.connect() as conn:
        strategy, column = (
            await conn.execute(
                text(
                    "SELECT p.partstrat::text, a.attname FROM pg_partitioned_table p "
                    "JOIN pg_attribute a ON a.attrelid = p.partrelid "
                    "AND a.attnum = p.partattrs[0] WHERE p.partrelid = 'trades'::regclass"
                )
            )
        ).one()
        key = await conn.scalar(
            text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_trades'")
        )
        index = await conn.scalar(
            text("SELECT pg_get_indexdef('ix_trades_instrument_ts_price'::regclass)")
        )
    assert (strategy, column) == ("r", "ts")
    assert key == "PRIMARY KEY (instrument_id, trade_id, ts)"
    assert (
        index is not None
        and "ON ONLY public.trades" in index
        and "(instrument_id, ts, trade_id, price)" in index
    )
    assert await bounds(pg) == [("trades_default", "DEFAULT")]


@postgres
async def test_migration_moves_existing_rows_into_weekly_partitions_and_back(
    pg_url: str,
) -> None:
    name = f"tickhub_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(pg_url).set(database=name).render_as_string(False))
    try:
        await upgrade(engine, "0002")
        rows = [(1, MONDAY - 1), (2, MONDAY), (3, MONDAY + 7 * DAY - 1), (4, MONDAY + 7 * DAY)]
        async with engine.begin() as conn:
            repo = MarketDataWrites(conn)
            inst = await repo.ensure_instrument(
                await repo.ensure_exchange("binance"), "BTCUSDT", "BTC", "USDT", 0
            )
            await repo.insert_trades(inst, [Trade(i, ts, 1.0, 1.0, None) for i, ts in rows])
        await upgrade(engine)
        assert await where_is(engine) == {
            1: "trades_p20261109",
            2: "trades_p20261116",
            3: "trades_p20261116",
            4: "trades_p20261123",
        }

        def downgrade(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            kind = await conn.scalar(
                text("SELECT relkind::text FROM pg_class WHERE oid = 'trades'::regclass")
            )
            key = await conn.scalar(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conname = 'pk_trades'"
                )
            )
            back = (await conn.execute(text("SELECT trade_id, ts FROM trades ORDER BY 1"))).all()
        assert (kind, key) == ("r", "PRIMARY KEY (instrument_id, trade_id)")
        assert [tuple(r) for r in back] == rows
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# ------------------------------------------------------------------ partitions ahead


@postgres
@pytest.mark.parametrize(
    ("interval", "names", "last_end"),
    [
        ("day", ["20261120", "20261121", "20261122", "20261123", "20261124"], us(2026, 11, 25)),
        ("week", ["20261116", "20261123", "20261130", "20261207", "20261214"], us(2026, 12, 21)),
        ("month", ["20261101", "20261201", "20270101", "20270201", "20270301"], us(2027, 4, 1)),
    ],
)
async def test_ensure_ahead_creates_consecutive_partitions_without_gaps_or_overlaps(
    pg: AsyncEngine, interval: PartitionInterval, names: list[str], last_end: int
) -> None:
    report = await partitions.maintain(pg, storage(interval, ahead=4), now=NOW)
    assert report.created == [f"trades_p{n}" for n in names]
    found = ranges_of(await bounds(pg))
    assert [r[0] for r in found] == report.created
    starts = [datetime_to_us(datetime.strptime(n, "%Y%m%d").replace(tzinfo=UTC)) for n in names]
    assert [r[1] for r in found] == starts
    for (_, _, end), (_, start, _) in pairwise(found):
        assert end == start  # no gap, no overlap
    assert found[-1][2] == last_end
    assert ("trades_default", "DEFAULT") in await bounds(pg)
    # a second pass, or one a little later in the same period, has nothing to do
    assert (await partitions.maintain(pg, storage(interval, ahead=4), now=NOW + 3600)).created == []


@postgres
async def test_first_and_last_microsecond_of_a_period_land_in_their_partitions(
    pg: AsyncEngine,
) -> None:
    await partitions.maintain(pg, storage("week", ahead=1), now=NOW)
    week = 7 * DAY
    ts = {1: MONDAY, 2: MONDAY + week - 1, 3: MONDAY + week, 4: MONDAY + 2 * week - 1}
    ts |= {5: MONDAY - 1, 6: MONDAY + 2 * week}  # outside the partitions: the default
    await write(pg, [Trade(i, t, 1.0, 1.0) for i, t in sorted(ts.items())])
    assert await where_is(pg) == {
        1: "trades_p20261116",
        2: "trades_p20261116",
        3: "trades_p20261123",
        4: "trades_p20261123",
        5: "trades_default",
        6: "trades_default",
    }


@postgres
async def test_rows_in_the_default_partition_move_into_the_partition_created_for_them(
    pg: AsyncEngine,
) -> None:
    trades = [
        Trade(1, us(2025, 3, 5), 1.0, 1.0),  # a long-gone week: adopted into its own partition
        Trade(2, NOW - DAY, 2.0, 1.0),  # the current week
        Trade(3, NOW, 3.0, 1.0),
        Trade(4, NOW + 7 * DAY, 4.0, 1.0),  # next week
    ]
    await write(pg, trades)
    assert set((await where_is(pg)).values()) == {"trades_default"}
    before = await snapshot(pg)

    report = await partitions.maintain(pg, storage("week", ahead=1), now=NOW)
    assert report.moved_rows == 4
    assert report.created == ["trades_p20250303", "trades_p20261116", "trades_p20261123"]
    assert await where_is(pg) == {
        1: "trades_p20250303",
        2: "trades_p20261116",
        3: "trades_p20261116",
        4: "trades_p20261123",
    }
    assert await snapshot(pg) == before
    assert ("trades_default", "DEFAULT") in await bounds(pg)  # attached again
    # and the table still takes rows everywhere
    assert await write(pg, [Trade(5, us(2030, 1, 1), 5.0, 1.0)]) == 1
    assert (await where_is(pg))[5] == "trades_default"


@postgres
async def test_two_maintainers_at_once_create_each_partition_once(pg_url: str) -> None:
    engines = [create_engine(pg_url) for _ in range(2)]
    try:
        await _reset(engines[0])
        reports = await asyncio.gather(
            *(partitions.maintain(e, storage("day", ahead=6), now=NOW) for e in engines)
        )
        created = sorted(n for r in reports for n in r.created)
        assert len(created) == 7 and len(set(created)) == 7
        assert len(ranges_of(await bounds(engines[0]))) == 7
        await _reset(engines[0])
    finally:
        for e in engines:
            await e.dispose()


# ------------------------------------------------------------------ retention


@postgres
async def test_retention_drops_exactly_the_partitions_older_than_the_cut(pg: AsyncEngine) -> None:
    w = [MONDAY + k * 7 * DAY for k in range(6)]  # six weekly partitions, W0 … W5
    await partitions.maintain(pg, storage("week", ahead=5), now=w[0])
    old = Trade(1, us(2025, 1, 8), 1.0, 1.0)  # in the default partition, far past the cut
    await write(pg, [old, *(Trade(10 + k, w[k] + DAY, 1.0, 1.0) for k in range(6))])
    async with pg.connect() as conn:
        candles_before = await conn.scalar(select(func.count()).select_from(CandleRow))

    # now = W3, keep 7 days: the cut is W2 exactly; W0 and W1 end at or before it
    report = await partitions.maintain(pg, storage("week", ahead=4, retention_days=7), now=w[3])
    assert report.dropped == ["trades_p20261116", "trades_p20261123"]
    assert report.deleted_rows == 1
    names = [r[0] for r in ranges_of(await bounds(pg))]
    assert names == [partitions.partition_name(w[2] + k * 7 * DAY) for k in range(6)]
    assert sorted(await where_is(pg)) == [12, 13, 14, 15]
    async with pg.connect() as conn:
        candles_after = await conn.scalar(select(func.count()).select_from(CandleRow))
    assert candles_after == candles_before  # only trades go

    # a minute before W3 + 7 days nothing more is due; at that time, W2 goes
    cut_next = storage("week", ahead=0, retention_days=7)
    assert (await partitions.maintain(pg, cut_next, now=w[4] - 60_000_000)).dropped == []
    assert (await partitions.maintain(pg, cut_next, now=w[4])).dropped == ["trades_p20261130"]


# ------------------------------------------------------------------ writes


@postgres
async def test_writer_stays_idempotent_across_partitions_and_the_default(pg: AsyncEngine) -> None:
    await partitions.maintain(pg, storage("day", ahead=0), now=NOW)  # only 20 Nov
    trades = make_trades(500)  # from 23:58 on 20 Nov into 21 Nov (the default partition)
    writer = Writer(pg)
    for i in range(0, 500, 100):
        await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[i : i + 100])))
    before = await snapshot(pg)
    places = set((await where_is(pg)).values())
    assert places == {"trades_p20261120", "trades_default"}

    await partitions.maintain(pg, storage("day", ahead=1), now=NOW)  # 21 Nov takes its rows
    assert set((await where_is(pg)).values()) == {"trades_p20261120", "trades_p20261121"}
    for i in range(0, 500, 100):
        assert await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[i : i + 100]))) == 0
    assert await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[50:350]))) == 0
    assert await snapshot(pg) == before
    await check_candles_against_trades(pg, trades)


@postgres
async def test_an_exact_replay_past_the_writer_is_stopped_by_the_key(pg: AsyncEngine) -> None:
    """The second guard: COPY of rows already stored (same id, same ts) inserts nothing."""
    trades = make_trades(50)
    await write(pg, trades)
    async with pg.begin() as conn:
        await MarketDataWrites(conn).insert_trades(1, trades)
    async with pg.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(TradeRow)) == 50


@postgres
async def test_copy_runs_in_the_callers_transaction(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)  # one connection, reused
    try:
        await _reset(engine)
        async with engine.begin() as conn:
            repo = MarketDataWrites(conn)
            inst = await repo.ensure_instrument(
                await repo.ensure_exchange("binance"), "BTCUSDT", "BTC", "USDT", 0
            )
        a, b, c = (Trade(i, NOW + i, 1.0, 1.0) for i in (1, 2, 3))
        # COPY as the first statement of a transaction that rolls back: nothing stays
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await MarketDataWrites(conn).insert_trades(inst, [a])
                raise RuntimeError
        # two COPYs in one transaction with a delete between: the first one's rows are
        # not inserted again by the second
        async with engine.begin() as conn:
            repo = MarketDataWrites(conn)
            await repo.insert_trades(inst, [a, b])
            await repo.delete_trades(inst, [a.trade_id])
            await repo.insert_trades(inst, [c])
        # and once more after the staging table exists, rolled back again
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await MarketDataWrites(conn).insert_trades(inst, [a])
                raise RuntimeError
        async with engine.connect() as conn:
            ids = list(await conn.scalars(select(trades_t.c.trade_id).order_by("trade_id")))
            staged = await conn.scalar(text("SELECT count(*) FROM trades_staging"))
        assert (ids, staged) == ([2, 3], 0)
        await _reset(engine)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ reads


async def explain(conn: AsyncConnection, sql: str) -> dict[str, Any]:
    plan = await conn.scalar(text(f"EXPLAIN (FORMAT JSON) {sql}"))
    if isinstance(plan, str):
        plan = json.loads(plan)
    top: dict[str, Any] = plan[0]["Plan"]
    return top


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _plan_nodes(child)
    return out


@postgres
async def test_a_range_within_a_day_reads_one_partition_through_the_index(
    pg: AsyncEngine,
) -> None:
    await partitions.maintain(pg, storage("day", ahead=2), now=NOW)
    async with pg.begin() as conn:
        repo = MarketDataWrites(conn)
        ex = await repo.ensure_exchange("binance")
        for k in range(4):
            await repo.ensure_instrument(ex, f"S{k}USDT", f"S{k}", "USDT", 0)
        await conn.execute(
            text(
                "INSERT INTO trades (instrument_id, trade_id, ts, price, qty) "
                "SELECT 1 + g % 4, g, CAST(:t0 AS bigint) + g * 100000000::bigint, 1, 1 "
                "FROM generate_series(0, 3 * 864 - 1) g"
            ),
            {"t0": us(2026, 11, 20)},
        )
        await conn.execute(text("ANALYZE trades"))
    day = us(2026, 11, 21)
    quarter = DAY // 4  # a quarter of the day's partition: the time index serves it
    c = trades_t.c
    query = (
        select(c.trade_id, c.ts, c.price, c.qty, c.is_buyer_maker)
        .where(c.instrument_id == 2, c.ts >= day, c.ts <= day + quarter - 1)
        .order_by(c.ts, c.trade_id)
    )  # the shape of MarketDataReads.trades
    sql = str(query.compile(pg.sync_engine, compile_kwargs={"literal_binds": True}))
    async with pg.begin() as conn:
        # Tables this small are cheapest to scan whole; what is checked is that the
        # index serves the range and that the planner reads one partition only.
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await explain(conn, sql)
        rows = (await conn.execute(text(sql))).all()
        # The driver sends bind parameters; a generic plan prunes when it starts.
        await conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        await conn.execute(
            text(
                "PREPARE range_q (int, bigint, bigint) AS SELECT trade_id FROM trades "
                "WHERE instrument_id = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts, trade_id"
            )
        )
        generic = await explain(conn, f"EXECUTE range_q (2, {day}, {day + quarter - 1})")
        await conn.execute(text("DEALLOCATE range_q"))
    for p in (plan, generic):
        nodes = _plan_nodes(p)
        assert {n["Relation Name"] for n in nodes if "Relation Name" in n} == {"trades_p20261121"}
        assert {n.get("Index Name") for n in nodes} >= {
            "trades_p20261121_instrument_id_ts_trade_id_price_idx"
        }
    assert [n["Subplans Removed"] for n in _plan_nodes(generic) if "Subplans Removed" in n] == [3]
    assert len(rows) == 864 // 4 // 4


# ------------------------------------------------------------------ SQLite


async def test_maintenance_does_nothing_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tickhub.db'}")
    try:
        await upgrade(engine)
        report = await partitions.maintain(engine, storage("day", 4, retention_days=1), now=NOW)
        assert report == partitions.MaintenanceReport()
        # returns at once instead of looping
        settings = Settings(_env_file=None, data_dir=tmp_path, sources=[])
        await asyncio.wait_for(partitions.maintain_partitions_forever(engine, settings, 3600), 1)
        assert await write(engine, make_trades(3)) == 3
    finally:
        await engine.dispose()
