"""The closed-window answer cache: what it keeps, and what a write announced on the bus
takes out of it."""

from __future__ import annotations

from tickhub.bus import MemoryBus
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.store.candles import HOUR, MINUTE

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z
NOW = T0 + 10 * HOUR + 30 * 1_000_000  # half a minute into 10:00
BTC = ("binance", "BTCUSDT")


def update(minute: int, symbol: str = "BTCUSDT") -> CandleUpdate:
    return CandleUpdate("binance", symbol, minute, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1)


async def started(**kwargs: object) -> tuple[MemoryBus, ReadCache]:
    bus = MemoryBus()
    cache = ReadCache(bus, now=lambda: NOW, **kwargs)  # type: ignore[arg-type]
    await cache.start()
    return bus, cache


async def test_keeps_closed_windows_only() -> None:
    _, cache = await started()
    cache.put("closed", BTC, T0, T0 + 10 * HOUR, cache.generation(BTC), b"a")
    cache.put("open", BTC, T0, T0 + 10 * HOUR + MINUTE, cache.generation(BTC), b"b")
    assert cache.get("closed") == b"a"
    assert cache.get("open") is None
    await cache.stop()


async def test_an_announced_write_drops_the_windows_that_hold_its_minute() -> None:
    bus, cache = await started()
    g = cache.generation(BTC)
    cache.put("early", BTC, T0, T0 + HOUR, g, b"early")
    cache.put("late", BTC, T0 + 2 * HOUR, T0 + 3 * HOUR, g, b"late")
    cache.put("eth", ("binance", "ETHUSDT"), T0, T0 + HOUR, g, b"eth")
    await bus.publish("candles.binance.BTCUSDT", update(T0 + 2 * HOUR + 5 * MINUTE))
    await bus.close()
    assert cache.get("early") == b"early"
    assert cache.get("late") is None
    assert cache.get("eth") == b"eth"


async def test_a_read_that_raced_a_write_is_not_kept() -> None:
    bus, cache = await started()
    g = cache.generation(BTC)  # taken before the read
    await bus.publish("candles.binance.BTCUSDT", update(T0))  # the write lands meanwhile
    await bus.close()
    cache.put("raced", BTC, T0 + 5 * HOUR, T0 + 6 * HOUR, g, b"old")
    assert cache.get("raced") is None


async def test_bounded_by_bytes_and_age_and_off_until_started() -> None:
    bus = MemoryBus()
    clock = [0.0]
    cache = ReadCache(bus, max_bytes=40, max_age_s=60, now=lambda: NOW, clock=lambda: clock[0])
    cache.put("before start", BTC, T0, T0 + HOUR, 0, b"x")
    assert cache.get("before start") is None
    await cache.start()
    for i in range(5):
        cache.put(i, BTC, T0, T0 + HOUR, 0, b"0123456789")
    assert cache.size <= 40
    assert cache.get(0) is None and cache.get(4) is not None
    clock[0] = 61.0
    assert cache.get(4) is None
    await cache.stop()
    await bus.close()


async def test_a_streamed_answer_asks_before_gathering() -> None:
    """`closed` and `max_body` say in advance whether `put` could keep an answer."""
    bus = MemoryBus()
    cache = ReadCache(bus, max_bytes=40, now=lambda: NOW)
    assert not cache.closed(T0)  # not started: nothing is kept
    await cache.start()
    minute = NOW - NOW % MINUTE
    assert cache.closed(minute) and not cache.closed(minute + 1)
    assert cache.max_body == 10
    cache.put("big", BTC, T0, minute, cache.generation(BTC), b"x" * 11)
    cache.put("fits", BTC, T0, minute, cache.generation(BTC), b"x" * 10)
    assert cache.get("big") is None and cache.get("fits") == b"x" * 10
    await cache.stop()
    off = ReadCache(bus, max_bytes=0, now=lambda: NOW)
    await off.start()
    assert not off.closed(minute)
