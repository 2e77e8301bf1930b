"""Stored prices kept in memory a closed minute at a time, with their items' text: what a
read takes from memory, what it fetches (a rolling window: only its partial and open
minutes), what a write announced on the bus takes out of it, the trade limit, and the
memory bound."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from tickhub.bus import MemoryBus
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.live.priceblocks import PriceBlocks, PricePiece
from tickhub.marketdata.store.candles import HOUR, MINUTE
from tickhub.marketdata.store.repository import InstrumentInfo, PriceColumns

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z
S = 1_000_000
NOW = T0 + 2 * HOUR + 30 * S  # half a minute into 02:00
BTC = InstrumentInfo(1, "binance", "BTCUSDT", "BTC", "USDT", False)


def update(minute: int, symbol: str = "BTCUSDT") -> CandleUpdate:
    return CandleUpdate("binance", symbol, minute, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1)


class Store:
    """One instrument's stored trades (one every 10 s up to NOW, none in 00:30), and the
    fetches."""

    def __init__(self) -> None:
        self.trades = {
            t: (i + 1, t, 100.0 + i % 17)
            for i, t in enumerate(range(T0, NOW + 1, 10 * S))
            if not T0 + 30 * MINUTE <= t < T0 + 31 * MINUTE
        }
        self.fetched: list[tuple[int, int]] = []

    async def fetch(self, lo: int, hi: int, limit: int) -> PriceColumns:
        self.fetched.append((lo, hi))
        rows = [r for t, r in sorted(self.trades.items()) if lo <= t < hi]
        return PriceColumns.of_rows(rows[:limit])

    def between(self, lo: int, hi: int) -> list[tuple[int, int, float]]:
        return [r for t, r in sorted(self.trades.items()) if lo <= t < hi]


def encode(rows: PriceColumns, cuts: Sequence[int]) -> list[bytes]:
    """Each trade as `id@price`, joined by commas, cut before each index."""
    texts = [
        b"%d@%r" % (i, p) for i, p in zip(rows.ids.tolist(), rows.prices.tolist(), strict=True)
    ]
    bounds = [0, *cuts, len(texts)]
    return [b",".join(texts[a:b]) for a, b in pairwise(bounds)]


def joined(pieces: list[PricePiece] | None) -> tuple[bytes, list[float]]:
    assert pieces is not None
    text = b",".join(p.items for p in pieces if p.items)
    prices = np.concatenate([p.prices for p in pieces]).tolist() if pieces else []
    return text, prices


def expected(db: Store, lo: int, hi: int) -> tuple[bytes, list[float]]:
    rows = db.between(lo, hi)
    return b",".join(b"%d@%r" % (i, p) for i, _, p in rows), [p for _, _, p in rows]


async def started(**kwargs: Any) -> tuple[MemoryBus, PriceBlocks]:
    bus = MemoryBus()
    await bus.start()
    cache = PriceBlocks(bus, now=lambda: NOW, **kwargs)
    await cache.start()
    return bus, cache


async def read(cache: PriceBlocks, db: Store, lo: int, hi: int, limit: int = 10_000) -> Any:
    return await cache.reader(BTC, "test").read(lo, hi, db.fetch, encode, limit=limit)


async def test_a_rolling_window_reads_only_its_partial_and_open_minutes() -> None:
    _, cache = await started()
    db = Store()
    lo, hi = T0 + 5 * MINUTE + 25 * S, NOW + S  # from mid-minute up to the current second
    assert joined(await read(cache, db, lo, hi)) == expected(db, lo, hi)
    assert db.fetched == [(lo, hi)]  # one statement for the whole window
    db.fetched.clear()
    later = lo + 50 * S  # the same window, 50 s later: it starts in 00:06
    assert joined(await read(cache, db, later, hi + 50 * S)) == expected(db, later, hi + 50 * S)
    assert db.fetched == [(later, T0 + 7 * MINUTE), (T0 + 2 * HOUR, hi + 50 * S)]
    db.fetched.clear()
    await read(cache, db, later, hi + 50 * S)  # 02:00 lies whole inside, but is open
    assert db.fetched == [(later, T0 + 7 * MINUTE), (T0 + 2 * HOUR, hi + 50 * S)]
    db.fetched.clear()
    # whole closed minutes (the empty 00:30 too) are never read again
    assert joined(await read(cache, db, T0 + 7 * MINUTE, T0 + 2 * HOUR)) == expected(
        db, T0 + 7 * MINUTE, T0 + 2 * HOUR
    )
    assert db.fetched == []
    assert cache.hits == 3 * 113


async def test_a_late_trade_drops_its_minute_and_a_raced_read_keeps_nothing_it_touched() -> None:
    bus, cache = await started()
    db = Store()
    await read(cache, db, T0, T0 + HOUR)
    late = T0 + 30 * MINUTE + 5 * S  # into the minute that had no trade
    db.trades[late] = (9_999, late, 7.5)
    await bus.publish("candles.binance.BTCUSDT", update(late - late % MINUTE))
    await bus.publish("candles.binance.ETHUSDT", update(T0 + 40 * MINUTE, "ETHUSDT"))
    await bus.join()
    db.fetched.clear()
    assert joined(await read(cache, db, T0, T0 + HOUR)) == expected(db, T0, T0 + HOUR)
    assert db.fetched == [(T0 + 30 * MINUTE, T0 + 31 * MINUTE)]  # another symbol's kept

    reader = cache.reader(BTC, "test")  # taken before the request's unit of work opens

    async def racing(lo: int, hi: int, limit: int) -> PriceColumns:
        rows = await db.fetch(lo, hi, limit)  # the statement's snapshot: before the write
        await bus.publish("candles.binance.BTCUSDT", update(T0 + HOUR + 10 * MINUTE))
        await bus.join()  # announced before the rows are kept
        return rows

    await reader.read(T0 + HOUR, T0 + HOUR + 20 * MINUTE, racing, encode, limit=10_000)
    db.fetched.clear()
    await read(cache, db, T0 + HOUR, T0 + HOUR + 20 * MINUTE)
    assert db.fetched == [(T0 + HOUR + 10 * MINUTE, T0 + HOUR + 11 * MINUTE)]
    await bus.close()


async def test_more_trades_than_the_limit_is_none() -> None:
    _, cache = await started()
    db = Store()
    # 00:00 to 00:10 holds 60 trades: 00:02 to 00:05 is in memory after this
    assert len(joined(await read(cache, db, T0 + 2 * MINUTE, T0 + 5 * MINUTE))[1]) == 18
    assert joined(await read(cache, db, T0, T0 + 10 * MINUTE, limit=60)) == expected(
        db, T0, T0 + 10 * MINUTE
    )
    assert await read(cache, db, T0, T0 + 10 * MINUTE, limit=59) is None
    assert await read(cache, db, T0 + 2 * MINUTE, T0 + 5 * MINUTE, limit=17) is None  # memory
    assert await read(cache, db, T0, T0) == []


async def test_bounded_by_bytes_and_age_and_off_until_started() -> None:
    db = Store()
    bus = MemoryBus()
    clock = [0.0]
    cache = PriceBlocks(bus, max_bytes=10_000, now=lambda: NOW, clock=lambda: clock[0])
    off = joined(await read(cache, db, T0, T0 + HOUR))
    assert off == expected(db, T0, T0 + HOUR)
    assert cache.size == 0  # not started: nothing kept, one statement
    await cache.start()
    await read(cache, db, T0, T0 + HOUR)
    assert 9_000 < cache.size <= 10_000  # the most recent minutes that fit
    db.fetched.clear()
    await read(cache, db, T0 + 50 * MINUTE, T0 + HOUR)
    assert db.fetched == []
    clock[0] = 301.0  # past max_age_s
    await read(cache, db, T0 + 50 * MINUTE, T0 + HOUR)
    assert db.fetched == [(T0 + 50 * MINUTE, T0 + HOUR)]
    await cache.stop()
    assert cache.size == 0
    assert not PriceBlocks(bus, max_bytes=0).running
