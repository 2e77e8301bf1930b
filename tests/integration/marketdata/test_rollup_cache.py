"""Stored rollups kept in memory (`RollupCache`) under `/v1/candles` and `/v1/statistics`:
the answers are byte for byte those read from the database alone, for windows ending now
and closed ones, before and after a late trade; the closed blocks are read once. SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import now_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.rollupcache import RollupCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.store.candles import HOUR, MINUTE
from tickhub.runtime import Runtime

S = 1_000_000


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


def _ms(us: int) -> int:
    return us // 1000


@pytest.fixture
async def clients(
    runtime: Runtime,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, RollupCache]]:
    """(with the rollups in memory, the database alone, the rollup cache)."""
    snapshots = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
    rollups = RollupCache(runtime.bus)
    await snapshots.start()
    await rollups.start()
    cached = create_app(runtime=runtime)
    cached.state.snapshot_cache = snapshots
    cached.state.rollup_cache = rollups
    plain = create_app(runtime=runtime)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=cached), base_url="http://t") as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://t") as p,
    ):
        yield c, p, rollups
    await rollups.stop()
    await snapshots.stop()


async def test_same_answers_from_memory_for_windows_ending_now_and_after_a_late_trade(
    runtime: Runtime, clients: tuple[httpx.AsyncClient, httpx.AsyncClient, RollupCache]
) -> None:
    cached, plain, rollups = clients
    now = now_us()
    t0 = now - now % HOUR - 3 * HOUR
    trades = [
        Trade(i + 1, t0 + i * 20 * S, 100.0 + (i * 37 % 101) / 7, 0.5 + i % 3, i % 2 == 0)
        for i in range((now - t0) // (20 * S))
    ]
    await store(runtime, "binance", "BTCUSDT", trades)
    await runtime.bus.join()
    snapshots = cached._transport.app.state.snapshot_cache  # type: ignore[attr-defined]
    await snapshots.settled()  # the in-memory latest prices know the instrument
    closed = f"start={_ms(t0 + 5 * MINUTE)}&end={_ms(t0 + 2 * HOUR + 7 * MINUTE)}"
    paths = [
        "/v1/candles?symbol=BTCUSDT&interval=1m",  # the newest up to now
        "/v1/candles?symbol=BTCUSDT&interval=5m&limit=30",
        f"/v1/candles?symbol=BTCUSDT&interval=1h&start={_ms(t0)}",
        f"/v1/candles?symbol=BTCUSDT&interval=1m&{closed}",
        f"/v1/candles?symbol=BTCUSDT&interval=3m&{closed}",
        f"/v1/statistics?symbol=BTCUSDT&{closed}",
        f"/v1/statistics?symbol=BTCUSDT&start={_ms(t0 - 90 * S)}&end={_ms(now + 1000 * S)}",
    ]

    async def compare() -> list[bytes]:
        bodies = []
        for path in paths:
            a, b = await cached.get(path), await plain.get(path)
            assert a.status_code == b.status_code == 200, (path, a.text)
            assert a.content == b.content, path
            bodies.append(a.content)
        return bodies

    before = await compare()
    misses = rollups.misses
    assert await compare() == before
    # the second time only the open blocks (and those after now) were read: one statement
    # for each of the four windows that reach the current minute, none for the closed ones
    assert rollups.misses - misses == 4
    assert rollups.hits > 0

    # a late trade into a closed minute: every answer holding it counts it
    late = Trade(10**6, t0 + 61 * MINUTE + 5 * S, 999.0, 3.0, True)
    await store(runtime, "binance", "BTCUSDT", [late])
    await runtime.bus.join()
    after = await compare()
    assert after[3] != before[3]
    assert b'"high":999.0' in after[3]
    assert b'"count":' in after[5] and after[5] != before[5]
