"""The latest-price reads answered from memory ahead of the router (`app.HotReads`):
the same bodies and headers as the routes, behind the same gateway (rate limits,
request ids, security headers, metrics by route template); anything memory does not
answer goes on to the route. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.runtime import Runtime

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z
PRICE = "/v1/prices/binance/BTCUSDT"
SEED = "/api/current_price/?symbol=BTCUSDT"


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


@pytest.fixture
async def snapshots(runtime: Runtime) -> AsyncIterator[SnapshotCache]:
    trades = [Trade(i, T0 + i * 1_000_000, 100.0 + i, 0.5, False) for i in range(1, 6)]
    await store(runtime, "binance", "BTCUSDT", trades)
    await runtime.bus.join()
    cache = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
    await cache.start()
    await cache.settled()
    yield cache
    await cache.stop()


def served(runtime: Runtime, cache: SnapshotCache, **gateway: object) -> httpx.AsyncClient:
    settings = runtime.settings
    if gateway:
        settings = settings.model_copy(
            update={"gateway": settings.gateway.model_copy(update=gateway)}
        )
    app = create_app(settings=settings, runtime=runtime)
    app.state.snapshot_cache = cache
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_same_answers_as_the_routes_behind_the_same_gateway(
    runtime: Runtime, snapshots: SnapshotCache
) -> None:
    async with served(runtime, snapshots) as client:
        for path in (PRICE, SEED):
            first = await client.get(path)  # through the route
            again = await client.get(path)  # from memory
            assert first.status_code == again.status_code == 200
            assert again.content == first.content
            for name in ("content-type", "content-length", "x-content-type-options"):
                assert again.headers[name] == first.headers[name]
            assert again.headers["x-request-id"] != first.headers["x-request-id"]
        assert (await client.get(SEED)).json() == {
            "latest_price": 105.0,
            "datetime": "2026-03-28T00:00:05",
        }
        # memory does not know it: the route words the error, as before
        missing = await client.get("/v1/prices/binance/NOPE")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        seed_missing = await client.get("/api/current_price?symbol=NOPE")
        assert seed_missing.status_code == 400
        assert "NOPE" in seed_missing.json()["detail"]
        text = (await client.get("/metrics")).text
    route = 'route="/v1/prices/{exchange}/{symbol}"'
    assert f'tickhub_http_requests_total{{method="GET",{route},status="200"}} 2.0' in text
    seed = 'route="/api/current_price"'
    assert f'tickhub_http_requests_total{{method="GET",{seed},status="200"}} 3.0' in text


async def test_rate_limits_still_apply(runtime: Runtime, snapshots: SnapshotCache) -> None:
    async with served(runtime, snapshots, rate_limit_reads="3/minute") as client:
        codes = [(await client.get(PRICE)).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


async def test_a_new_price_replaces_the_answers_kept_in_memory(
    runtime: Runtime, snapshots: SnapshotCache
) -> None:
    async with served(runtime, snapshots) as client:
        for _ in range(3):  # the route, then the answer encoded once and kept
            assert (await client.get(PRICE)).json()["price"] == 105.0
            assert (await client.get(SEED)).json()["latest_price"] == 105.0
        # another spelling of the same instrument is its own kept answer, the same body
        assert (await client.get("/api/current_price?symbol=btcusdt")).json()[
            "latest_price"
        ] == 105.0
        await store(runtime, "binance", "BTCUSDT", [Trade(6, T0 + 6_000_000, 250.5, 1.0, True)])
        await runtime.bus.join()
        await snapshots.settled()
        assert (await client.get(PRICE)).json()["price"] == 250.5
        assert (await client.get(SEED)).json() == {
            "latest_price": 250.5,
            "datetime": "2026-03-28T00:00:06",
        }
        assert (await client.get("/api/current_price?symbol=btcusdt")).json()[
            "latest_price"
        ] == 250.5
