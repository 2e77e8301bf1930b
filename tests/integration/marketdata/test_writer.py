"""The writer stores exactly once: replays, duplicates and late trades change nothing
but what they should. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.unit.marketdata.test_candles import close_enough, naive, shape
from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE, ROLLUPS
from tickhub.marketdata.store.models import CandleRow, TradeRow
from tickhub.marketdata.store.repository import MarketDataReads
from tickhub.marketdata.store.writer import Writer

T0 = datetime_to_us(datetime(2026, 11, 20, 23, 58, tzinfo=UTC))


def make_trades(n: int, *, first_id: int = 1, seed: int = 7) -> list[Trade]:
    rnd = random.Random(seed)
    price = 100.0
    out = []
    for i in range(n):
        price *= 1 + rnd.gauss(0, 0.001)
        out.append(Trade(first_id + i, T0 + i * 1_700_000, round(price, 4), rnd.random() * 2))
    return out


async def snapshot(engine: AsyncEngine) -> tuple[list[tuple[object, ...]], ...]:
    async with engine.connect() as conn:
        trades = (await conn.execute(select(TradeRow.__table__).order_by("trade_id"))).all()
        candles = (
            await conn.execute(select(CandleRow.__table__).order_by("resolution", "start"))
        ).all()
        latest = await MarketDataReads(conn).latest()
        ranges = await MarketDataReads(conn).coverage(1)
    return (
        [tuple(r) for r in trades],
        [tuple(r) for r in candles],
        [(x.trade_id, x.price) for x in latest],
        [tuple(r.__getattribute__(f) for f in ("first_id", "last_id")) for r in ranges],
    )


async def check_candles_against_trades(engine: AsyncEngine, all_trades: list[Trade]) -> None:
    async with engine.connect() as conn:
        repo = MarketDataReads(conn)
        stored = await repo.trades(1, None, None)
        for res in ROLLUPS:
            got = {c.start: shape(c) for c in await repo.candles(1, res, 0, 2**62)}
            want = naive(all_trades, res)
            assert got.keys() == want.keys()
            for k in got:
                assert close_enough(got[k], want[k])
    assert [t.trade_id for t in stored] == sorted({t.trade_id for t in all_trades})


async def test_replays_and_duplicates_change_nothing(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    trades = make_trades(500)
    for i in range(0, 500, 100):
        await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[i : i + 100])))
    before = await snapshot(engine)
    await check_candles_against_trades(engine, trades)

    # the same batches again, overlapping batches, a batch with repeats inside
    for i in range(0, 500, 100):
        assert await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[i : i + 100]))) == 0
    assert await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[50:350]))) == 0
    assert await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades[:3] * 4))) == 0
    assert await snapshot(engine) == before
    assert writer.stats.new == 500


async def test_out_of_order_batches_and_backfill_give_the_same_result(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    trades = make_trades(400)
    rnd = random.Random(3)
    chunks = [trades[i : i + 37] for i in range(0, 400, 37)]
    rnd.shuffle(chunks)
    # first pass leaves holes (every third chunk missing), second pass fills them
    for k, chunk in enumerate(chunks):
        if k % 3:
            await writer.write(TradeBatch("binance", "BTCUSDT", tuple(reversed(chunk))))
    async with engine.connect() as conn:
        ranges = await MarketDataReads(conn).coverage(1)
    assert len(ranges) > 1  # open gaps are recorded
    for chunk in chunks:
        await writer.write(TradeBatch("binance", "BTCUSDT", tuple(chunk)))
    await check_candles_against_trades(engine, trades)
    async with engine.connect() as conn:
        repo = MarketDataReads(conn)
        ranges = await repo.coverage(1)
        (latest,) = await repo.latest()
    assert [(r.first_id, r.last_id) for r in ranges] == [(1, 400)]
    assert (latest.trade_id, latest.price) == (400, trades[-1].price)


async def test_capture_interval_keeps_the_first_trade_per_interval(engine: AsyncEngine) -> None:
    writer = Writer(engine, capture_interval_s=60)
    trades = make_trades(300)  # one every 1.7 s: ~35 per minute
    late = trades[::2]
    early = trades[1::2]
    await writer.write(TradeBatch("binance", "BTCUSDT", tuple(late)))
    await writer.write(TradeBatch("binance", "BTCUSDT", tuple(early)))  # earlier trades arrive late
    await writer.write(TradeBatch("binance", "BTCUSDT", tuple(trades)))  # a replay
    async with engine.connect() as conn:
        stored = await MarketDataReads(conn).trades(1, None, None)
        minute_counts = await conn.scalar(
            select(func.sum(CandleRow.trade_count)).where(CandleRow.resolution == 60)
        )
    firsts: dict[int, Trade] = {}
    for t in trades:
        b = t.ts - t.ts % MINUTE
        if b not in firsts or (t.ts, t.trade_id) < (firsts[b].ts, firsts[b].trade_id):
            firsts[b] = t
    assert [t.trade_id for t in stored] == sorted(t.trade_id for t in firsts.values())
    assert minute_counts == 300  # candles still count every trade
    await check_candles_against_trades_counts(engine, trades)


async def check_candles_against_trades_counts(engine: AsyncEngine, trades: list[Trade]) -> None:
    async with engine.connect() as conn:
        repo = MarketDataReads(conn)
        for res in (MINUTE, HOUR, DAY):
            got = {c.start: shape(c) for c in await repo.candles(1, res, 0, 2**62)}
            want = naive(trades, res)
            assert got.keys() == want.keys()
            for k in got:
                assert close_enough(got[k], want[k])


@pytest.mark.parametrize("n_writers", [2])
async def test_two_writers_on_one_database_store_each_trade_once(
    engine: AsyncEngine, n_writers: int
) -> None:
    import asyncio

    writers = [Writer(engine) for _ in range(n_writers)]
    trades = make_trades(600)
    batches = [tuple(trades[i : i + 50]) for i in range(0, 600, 50)]
    # every batch offered to both writers at once
    await asyncio.gather(
        *(w.write(TradeBatch("binance", "BTCUSDT", b)) for b in batches for w in writers)
    )
    await check_candles_against_trades(engine, trades)
    assert sum(w.stats.new for w in writers) == 600


async def test_a_batch_the_database_refuses_fails_alone(engine: AsyncEngine) -> None:
    """Batches waiting for the database are written in one transaction; when the database
    refuses one of them, the others are stored anyway and only that one fails."""
    import asyncio

    writer = Writer(engine)
    good = [
        TradeBatch("binance", symbol, tuple(make_trades(20, seed=n)))
        for n, symbol in enumerate(("BTCUSDT", "ETHUSDT", "BNBBTC"))
    ]
    # a trade id beyond 64 bits: no database can store it
    bad = TradeBatch("binance", "XRPUSDT", (Trade(2**63, T0, 1.0, 1.0),))
    for batch in (*good, bad):
        await writer.instrument_id(batch)  # so that the writes below wait together

    results = await asyncio.gather(
        *(writer.write(b) for b in (good[0], good[1], bad, good[2])), return_exceptions=True
    )

    assert results[:2] == [20, 20] and results[3] == 20
    assert isinstance(results[2], Exception)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(TradeRow))).scalar_one()
    assert stored == 60
    assert writer.stats.group_splits >= 1 or engine.dialect.name != "sqlite"
