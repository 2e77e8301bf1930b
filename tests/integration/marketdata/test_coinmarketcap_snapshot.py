"""`/v1/snapshot` served from memory: rebuilt after every insert the writers announce,
bursts coalesced, no database query per request once warm. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import now_us
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing, CmcListings, Trade
from tickhub.marketdata.live.snapshot import SnapshotCache, Stale
from tickhub.marketdata.store.uow import MarketDataUnitOfWork
from tickhub.runtime import Runtime

MINUTE = 60_000_000


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


class QueryCounter:
    def __init__(self, runtime: Runtime) -> None:
        self.count = 0
        self._engine = runtime.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


@pytest.fixture
async def cache(runtime: Runtime) -> AsyncIterator[SnapshotCache]:
    snapshots = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
    await snapshots.start()
    yield snapshots
    await snapshots.stop()


@pytest.fixture
async def served(runtime: Runtime, cache: SnapshotCache) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    app.state.snapshot_cache = cache
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def listings(minute: int, price: float) -> CmcListings:
    sol = CmcListing(
        5426, "SOL", "Solana", "solana", 5, price, 1e9, 7e10, 0.1, -1.0, 3.0, 4.6e8, 5.8e8, None,
        minute - 20 * 1_000_000,
    )  # fmt: skip
    return CmcListings(minute, "USD", (sol,))


async def settle(runtime: Runtime, cache: SnapshotCache) -> None:
    await runtime.bus.join()  # the writer's notifications have reached the cache
    await cache.settled()  # and the rebuild they caused is done


async def test_each_insert_is_in_the_next_snapshot_without_a_query(
    runtime: Runtime, cache: SnapshotCache, served: httpx.AsyncClient
) -> None:
    assert runtime.writer is not None
    await cache.settled()
    counter = QueryCounter(runtime)
    try:
        empty = (await served.get("/v1/snapshot")).json()
        assert (empty["items"], empty["listings"], empty["global_metrics"]) == ([], [], None)
        assert counter.count == 0

        now = now_us()
        for trade_id, price in enumerate([101.5, 99.25, 100.125], start=1):
            await store(runtime, "binance", "BTCUSDT", [Trade(trade_id, now, price, 0.5)])
            await settle(runtime, cache)
            before = counter.count
            body = (await served.get("/v1/snapshot")).json()
            assert counter.count == before  # served from memory
            (item,) = body["items"]
            assert (item["symbol"], item["price"], item["trade_id"]) == ("BTCUSDT", price, trade_id)
            assert item["trade_count_24h"] == trade_id

        minute = now - now % MINUTE
        await runtime.writer.handle("cmc.listings", listings(minute, 151.5))
        metrics = CmcGlobalMetrics(minute, "USD", 9100, 52.5, 16.75, 2.4e12, 7.5e10, minute)
        await runtime.writer.handle("cmc.global", metrics)
        await settle(runtime, cache)
        before = counter.count
        body = (await served.get("/v1/snapshot")).json()
        assert counter.count == before
    finally:
        counter.close()
    assert [(c["symbol"], c["price"]) for c in body["listings"]] == [("SOL", 151.5)]
    assert body["global_metrics"]["btc_dominance"] == 52.5
    assert body["items"][0]["price"] == 100.125  # the rest of the document is still there
    assert set(body) >= {"generated_at", "window_start", "window_end", "items"}


async def test_a_burst_of_inserts_costs_at_most_one_more_rebuild(runtime: Runtime) -> None:
    builds = 0
    cache: SnapshotCache

    def now() -> int:
        nonlocal builds
        builds += 1
        if builds == 1:  # inserts announced while the first rebuild runs
            for _ in range(25):
                cache.invalidate()
        return now_us()

    cache = SnapshotCache(runtime.engine, runtime.bus, now=now, sleep=never)
    await cache.start()
    try:
        for _ in range(25):  # before the first rebuild starts: folded into it
            cache.invalidate()
        await cache.settled()
        assert (builds, cache.rebuilds) == (2, 2)
        await store(runtime, "sim", "ETHUSDT", [Trade(1, now_us(), 3000.0, 1.0)], simulated=True)
        await settle(runtime, cache)
        assert cache.rebuilds == 3
    finally:
        await cache.stop()


async def test_each_minute_the_window_moves_on(runtime: Runtime) -> None:
    ticks: asyncio.Queue[None] = asyncio.Queue()
    waiting: asyncio.Queue[float] = asyncio.Queue()  # each sleep, as it starts
    clock = [1_800_000_000.0 + 12.5]

    async def sleep(seconds: float) -> None:
        waiting.put_nowait(seconds)
        await ticks.get()
        clock[0] += seconds

    cache = SnapshotCache(runtime.engine, runtime.bus, clock=lambda: clock[0], sleep=sleep)
    await cache.start()
    try:
        assert await waiting.get() == 47.5  # to the next boundary, not a fixed minute
        await cache.settled()
        assert cache.rebuilds == 1
        ticks.put_nowait(None)  # the boundary comes: one rebuild, then a full minute's sleep
        assert await waiting.get() == 60.0
        await cache.settled()
        assert cache.rebuilds == 2
    finally:
        await cache.stop()


async def test_the_app_runs_the_cache_and_falls_back_to_the_database(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    await store(runtime, "binance", "ETHUSDT", [Trade(7, now_us(), 2500.0, 1.0)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # without the lifespan (no cache): read from the database
        assert (await client.get("/v1/snapshot")).json()["items"][0]["price"] == 2500.0
        async with app.router.lifespan_context(app):
            cache = app.state.snapshot_cache
            assert isinstance(cache, SnapshotCache) and cache.running
            await cache.settled()
            await store(runtime, "binance", "ETHUSDT", [Trade(8, now_us(), 2501.0, 1.0)])
            await settle(runtime, cache)
            r = await client.get("/v1/snapshot")
            assert r.headers["content-type"] == "application/json"
            assert r.json()["items"][0]["price"] == 2501.0
        assert not cache.running


async def test_an_insert_updates_its_instrument_and_keeps_the_rest(
    runtime: Runtime, cache: SnapshotCache, served: httpx.AsyncClient
) -> None:
    assert runtime.writer is not None
    now = now_us()
    minute = now - now % MINUTE
    for exchange, symbol, price in [("binance", "BTCUSDT", 100.0), ("binance", "ETHUSDT", 20.0)]:
        await store(runtime, exchange, symbol, [Trade(1, now, price, 1.0)])
    await store(runtime, "sim", "SOLUSDT", [Trade(1, now, 3.0, 1.0)], simulated=True)
    await runtime.writer.handle("cmc.listings", listings(minute, 151.5))
    await settle(runtime, cache)

    counter = QueryCounter(runtime)
    try:
        cache.invalidate(Stale(instruments={("binance", "ETHUSDT")}))
        await cache.settled()
        one = counter.count
        cache.invalidate()
        await cache.settled()
        everything = counter.count - one
    finally:
        counter.close()
    assert one < everything  # one instrument's reads, not every instrument's and the listings

    await store(runtime, "binance", "ETHUSDT", [Trade(2, now + 1, 21.5, 1.0)])
    await settle(runtime, cache)
    body = (await served.get("/v1/snapshot")).json()
    prices = {(i["exchange"], i["symbol"]): i["price"] for i in body["items"]}
    assert prices == {
        ("binance", "BTCUSDT"): 100.0,
        ("binance", "ETHUSDT"): 21.5,
        ("sim", "SOLUSDT"): 3.0,
    }
    (eth,) = [i for i in body["items"] if i["symbol"] == "ETHUSDT"]
    assert eth["trade_count_24h"] == 2
    assert [(c["symbol"], c["price"]) for c in body["listings"]] == [("SOL", 151.5)]


async def test_an_insert_re_reads_only_its_instrument(
    runtime: Runtime, cache: SnapshotCache, served: httpx.AsyncClient
) -> None:
    """BTCUSDT's latest price changes behind the cache's back (no notification): the
    rebuild for an ETHUSDT insert does not see it; the next full one does."""
    now = now_us()
    await store(runtime, "binance", "BTCUSDT", [Trade(1, now, 100.0, 1.0)])
    await store(runtime, "binance", "ETHUSDT", [Trade(1, now, 20.0, 1.0)])
    await settle(runtime, cache)
    async with MarketDataUnitOfWork(runtime.engine) as tx:
        (btc,) = [i for i in await tx.reads.instruments() if i.symbol == "BTCUSDT"]
        await tx.writes.upsert_latest(btc.id, Trade(2, now, 999.0, 1.0))
        await tx.commit()
    await store(runtime, "binance", "ETHUSDT", [Trade(2, now + 1, 21.5, 1.0)])
    await settle(runtime, cache)
    body = (await served.get("/v1/snapshot")).json()
    prices = {i["symbol"]: i["price"] for i in body["items"]}
    assert prices == {"BTCUSDT": 100.0, "ETHUSDT": 21.5}
    cache.invalidate()
    await cache.settled()
    body = (await served.get("/v1/snapshot")).json()
    assert {i["symbol"]: i["price"] for i in body["items"]} == {"BTCUSDT": 999.0, "ETHUSDT": 21.5}
