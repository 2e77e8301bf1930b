"""Closed-window answers of `/v1/candles` and `/v1/statistics` kept in memory: a repeated
request is answered from memory, and a write into the window (announced on the bus after
its commit) is in the very next answer. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.runtime import Runtime

T0 = datetime_to_us(datetime(2026, 3, 28, tzinfo=UTC))
S = 1_000_000
CANDLES = (
    "/v1/candles?symbol=BTCUSDT&interval=1h&start=2026-03-28T00:00:00Z&end=2026-03-28T06:00:00Z"
)
STATS = "/v1/statistics?symbol=BTCUSDT&start=2026-03-28T00:00:00Z&end=2026-03-28T06:00:00Z"


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, ReadCache]]:
    snapshots = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
    answers = ReadCache(runtime.bus)
    await snapshots.start()
    await answers.start()
    app = create_app(runtime=runtime)
    app.state.snapshot_cache = snapshots
    app.state.read_cache = answers
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await runtime.bus.join()
        await snapshots.settled()
        yield c, answers
    await answers.stop()
    await snapshots.stop()


def snapshot_of(client: httpx.AsyncClient) -> SnapshotCache:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    cache: SnapshotCache = transport.app.state.snapshot_cache  # type: ignore[attr-defined]
    return cache


async def test_repeated_reads_from_memory_until_a_write_changes_the_window(
    runtime: Runtime, served: tuple[httpx.AsyncClient, ReadCache]
) -> None:
    client, answers = served
    trades = [Trade(i + 1, T0 + i * 60 * S, 100.0 + i, 1.0, False) for i in range(300)]
    await store(runtime, "binance", "BTCUSDT", trades)
    await runtime.bus.join()
    await snapshot_of(client).settled()  # the in-memory latest prices know the instrument
    first = await client.get(CANDLES)
    stats = await client.get(STATS)
    assert first.status_code == stats.status_code == 200, (first.text, stats.text)
    hits = answers.hits
    assert (await client.get(CANDLES)).content == first.content
    assert (await client.get(STATS)).content == stats.content
    assert answers.hits == hits + 2

    # a late trade inside the window: the next answers count it
    await store(runtime, "binance", "BTCUSDT", [Trade(1000, T0 + 90 * S, 500.0, 2.0, True)])
    await runtime.bus.join()
    later = (await client.get(CANDLES)).json()
    assert later[0]["trade_count"] == first.json()[0]["trade_count"] + 1
    assert later[0]["high"] == 500.0
    assert (await client.get(STATS)).json()["count"] == stats.json()["count"] + 1
    # a write elsewhere keeps them
    hits = answers.hits
    await store(runtime, "binance", "BTCUSDT", [Trade(1001, T0 + 7 * 3600 * S, 1.0, 1.0, True)])
    await runtime.bus.join()
    assert (await client.get(CANDLES)).json() == later
    assert answers.hits == hits + 1


async def test_unknown_symbol_still_named(served: tuple[httpx.AsyncClient, ReadCache]) -> None:
    client, _ = served
    resp = await client.get(CANDLES.replace("BTCUSDT", "NOPE"))
    assert resp.status_code == 404
    assert resp.json()["field"] == "symbol"
