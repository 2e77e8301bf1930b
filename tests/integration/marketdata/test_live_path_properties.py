"""The live path's shortcuts change no result. Hypothesis draws batches of trades (any
instruments, ids repeated within and across batches, times across minute, hour and
window boundaries), written by concurrent writes that the writer stores in groups:

- every trade is stored once, and the rollups count each trade once;
- the snapshot, updated incrementally from what the writer announces (only the
  instruments a group touched are re-read and re-encoded), equals a full rebuild.

SQLite and PostgreSQL (the database fixtures)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.live.snapshot import SnapshotCache, build_snapshot, encode
from tickhub.marketdata.store.uow import MarketDataUnitOfWork
from tickhub.runtime import Runtime

MINUTE = 60_000_000
NOW = 1_767_225_600_000_000 + 7 * MINUTE + 13_000_000  # 2026-01-01T00:07:13Z
SYMBOLS = ("AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDBTC")
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


def trade_for(trade_id: int) -> Trade:
    """One trade per id, always the same (a repeated id is a replay, never a conflict):
    times from 30 hours before NOW to NOW, across the window's start and the hours."""
    ts = NOW - (trade_id * 7_919_000_003) % (30 * 60 * MINUTE)
    return Trade(trade_id, ts, 100.0 + (trade_id * 37) % 23, 0.5 + trade_id % 3, trade_id % 2 == 0)


batches = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.lists(st.integers(1, 400), min_size=1, max_size=40),
    ),
    min_size=1,
    max_size=12,
)
groups = st.lists(batches, min_size=1, max_size=3)


def as_batch(symbol: str, ids: list[int]) -> TradeBatch:
    return TradeBatch("sim", symbol, tuple(trade_for(i) for i in ids), simulated=True)


async def stored(runtime: Runtime) -> dict[str, tuple[set[int], int]]:
    """Per symbol: the stored trade ids, and the trades the 1 m rollups count."""
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT i.symbol, t.trade_id FROM trades t "
                "JOIN instruments i ON i.id = t.instrument_id"
            )
        )
        ids: dict[str, set[int]] = {}
        for symbol, tid in rows:
            ids.setdefault(symbol, set()).add(tid)
        counted = await conn.execute(
            text(
                "SELECT i.symbol, SUM(c.trade_count) FROM candles c "
                "JOIN instruments i ON i.id = c.instrument_id WHERE c.resolution = 60 "
                "GROUP BY i.symbol"
            )
        )
        counts = {symbol: int(n) for symbol, n in counted}
    return {s: (ids.get(s, set()), counts.get(s, 0)) for s in set(ids) | set(counts)}


@PROPERTY
@given(groups=groups)
async def test_grouped_writes_store_each_trade_once_and_the_snapshot_equals_a_rebuild(
    runtime: Runtime, groups: list[list[tuple[str, list[int]]]]
) -> None:
    writer = runtime.writer
    assert writer is not None
    cache = SnapshotCache(runtime.engine, runtime.bus, now=lambda: NOW, sleep=never)
    await cache.start()
    try:
        before = await stored(runtime)
        expected = {s: set(ids) for s, (ids, _) in before.items()}
        for group in groups:
            drawn = [as_batch(symbol, ids) for symbol, ids in group]
            new = await asyncio.gather(*(writer.write(b) for b in drawn))  # written together
            fresh = 0
            for b in drawn:
                ids = {t.trade_id for t in b.trades}
                fresh += len(ids - expected.setdefault(b.symbol, set()))
                expected[b.symbol] |= ids
            assert sum(new) == fresh  # each new trade counted once, by one batch

            await runtime.bus.join()  # the writer's announcements have reached the cache
            await cache.settled()  # and its incremental rebuild is done
            async with MarketDataUnitOfWork(runtime.engine) as tx:
                full = encode(await build_snapshot(tx, NOW))
            assert cache.body == full

        after = await stored(runtime)
        for symbol, ids in expected.items():
            assert after[symbol] == (ids, len(ids))
    finally:
        await cache.stop()
