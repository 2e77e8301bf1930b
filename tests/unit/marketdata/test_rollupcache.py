"""Stored rollups kept in memory in blocks: what a read takes from memory, what it
fetches, and what a write announced on the bus (late trades, a write racing a read)
takes out of it; the memory bound."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tickhub.bus import MemoryBus
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.live.rollupcache import LOG_LENGTH, RollupCache
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE
from tickhub.marketdata.store.columns import CandleTable
from tickhub.marketdata.store.repository import InstrumentInfo

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z
NOW = T0 + 10 * HOUR + 30 * 1_000_000  # half a minute into 10:00
BTC = InstrumentInfo(1, "binance", "BTCUSDT", "BTC", "USDT", False)


def update(minute: int, symbol: str = "BTCUSDT") -> CandleUpdate:
    return CandleUpdate("binance", symbol, minute, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1)


class Store:
    """One instrument's stored 1 m rollups (one per minute up to NOW), and the fetches."""

    def __init__(self) -> None:
        self.rows = {
            T0 + i * MINUTE: (T0 + i * MINUTE, 1.0 + i, 2.0 + i, 0.5, 1.5, 1.0, 1.5, 1, 1.5, 0.0)
            for i in range(10 * 60 + 1)
        }
        self.fetched: list[tuple[int, int]] = []

    async def fetch(self, lo: int, hi: int) -> Sequence[Any]:
        self.fetched.append((lo, hi))
        return [r for start, r in sorted(self.rows.items()) if lo <= start < hi]

    def table(self, lo: int, hi: int) -> CandleTable:
        return CandleTable.of_rows([r for s, r in sorted(self.rows.items()) if lo <= s < hi])


def same(a: CandleTable, b: CandleTable) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in CandleTable.__slots__)


async def started(**kwargs: Any) -> tuple[MemoryBus, RollupCache]:
    bus = MemoryBus()
    await bus.start()
    cache = RollupCache(bus, now=lambda: NOW, **kwargs)
    await cache.start()
    return bus, cache


async def test_closed_blocks_are_read_once_and_a_window_ending_now_reads_its_open_block() -> None:
    _, cache = await started()
    db = Store()
    lo, hi = T0 + 7 * MINUTE, NOW + MINUTE  # up to the current minute
    first = await cache.reader(BTC).read(MINUTE, lo, hi, db.fetch)
    assert same(first, db.table(lo, hi))
    assert db.fetched == [(T0, T0 + 11 * HOUR)]  # whole blocks, one statement
    db.fetched.clear()
    again = await cache.reader(BTC).read(MINUTE, lo, hi, db.fetch)
    assert same(again, first)
    assert db.fetched == [(T0 + 10 * HOUR, T0 + 11 * HOUR)]  # the open block only
    db.fetched.clear()
    closed = await cache.reader(BTC).read(MINUTE, T0 + 90 * MINUTE, T0 + 4 * HOUR, db.fetch)
    assert same(closed, db.table(T0 + 90 * MINUTE, T0 + 4 * HOUR))
    assert db.fetched == []


async def test_a_late_trade_drops_the_blocks_that_hold_its_minute() -> None:
    bus, cache = await started()
    db = Store()
    await cache.reader(BTC).read(MINUTE, T0, T0 + 10 * HOUR, db.fetch)
    hours = Store()
    await cache.reader(BTC).read(HOUR, T0, T0 + DAY, hours.fetch)  # its day: still open
    db.rows[T0 + 125 * MINUTE] = (T0 + 125 * MINUTE, 9.0, 9.0, 9.0, 9.0, 1.0, 9.0, 7, 9.0, 0.0)
    await bus.publish("candles.binance.BTCUSDT", update(T0 + 125 * MINUTE))
    await bus.join()
    db.fetched.clear()
    after = await cache.reader(BTC).read(MINUTE, T0, T0 + 10 * HOUR, db.fetch)
    assert same(after, db.table(T0, T0 + 10 * HOUR))
    assert db.fetched == [(T0 + 2 * HOUR, T0 + 3 * HOUR)]
    # another instrument's write keeps them
    await bus.publish("candles.binance.ETHUSDT", update(T0 + 125 * MINUTE, "ETHUSDT"))
    await bus.join()
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0, T0 + 10 * HOUR, db.fetch)
    assert db.fetched == []
    await bus.close()


async def test_a_block_whose_read_raced_a_write_is_not_kept() -> None:
    bus, cache = await started()
    db = Store()
    reader = cache.reader(BTC)  # taken before the request's unit of work opens

    async def racing(lo: int, hi: int) -> Sequence[Any]:
        rows = await db.fetch(lo, hi)  # the statement's snapshot: before the write
        await bus.publish("candles.binance.BTCUSDT", update(T0 + 30 * MINUTE))
        await bus.join()  # announced before the rows are kept
        return rows

    await reader.read(MINUTE, T0, T0 + 3 * HOUR, racing)
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0, T0 + 3 * HOUR, db.fetch)
    assert db.fetched == [(T0, T0 + HOUR)]  # the raced block again; the others kept

    # announced between taking the reader and the statement: not kept either
    reader = cache.reader(BTC)
    await bus.publish("candles.binance.BTCUSDT", update(T0 + 4 * HOUR))
    await bus.join()
    await reader.read(MINUTE, T0 + 4 * HOUR, T0 + 5 * HOUR, db.fetch)
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0 + 4 * HOUR, T0 + 5 * HOUR, db.fetch)
    assert db.fetched == [(T0 + 4 * HOUR, T0 + 5 * HOUR)]

    # more announcements since the reader than are remembered: nothing is kept
    reader = cache.reader(BTC)
    for i in range(LOG_LENGTH + 1):
        await bus.publish("candles.binance.BTCUSDT", update(T0 + 9 * HOUR))
        if i % 100 == 0:
            await bus.join()  # (a live queue holds 1,000 at most)
    await bus.join()
    await reader.read(MINUTE, T0 + 6 * HOUR, T0 + 7 * HOUR, db.fetch)
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0 + 6 * HOUR, T0 + 7 * HOUR, db.fetch)
    assert db.fetched == [(T0 + 6 * HOUR, T0 + 7 * HOUR)]
    await bus.close()


async def test_bounded_by_bytes_and_age_and_off_until_started() -> None:
    db = Store()
    one_block = 60 * 80 + 1_200  # ten 8-byte columns of 60 rows, and the overhead
    bus = MemoryBus()
    clock = [0.0]
    cache = RollupCache(bus, max_bytes=3 * one_block, now=lambda: NOW, clock=lambda: clock[0])
    await cache.reader(BTC).read(MINUTE, T0, T0 + HOUR, db.fetch)
    assert cache.size == 0  # not started: nothing kept
    await cache.start()
    await cache.reader(BTC).read(MINUTE, T0, T0 + 10 * HOUR, db.fetch)
    assert cache.size == 3 * one_block  # the three most recent blocks
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0 + 7 * HOUR, T0 + 10 * HOUR, db.fetch)
    assert db.fetched == []
    await cache.reader(BTC).read(MINUTE, T0, T0 + HOUR, db.fetch)
    assert db.fetched == [(T0, T0 + HOUR)]
    assert cache.size == 3 * one_block
    clock[0] = 301.0  # past max_age_s
    db.fetched.clear()
    await cache.reader(BTC).read(MINUTE, T0, T0 + HOUR, db.fetch)
    assert db.fetched == [(T0, T0 + HOUR)]
    await cache.stop()
    assert cache.size == 0
    off = RollupCache(bus, max_bytes=0, now=lambda: NOW)
    await off.start()
    assert not off.running
