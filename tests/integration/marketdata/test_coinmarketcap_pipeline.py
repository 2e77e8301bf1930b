"""CoinMarketCap end to end, on SQLite and PostgreSQL: a fake Pro API (httpx.MockTransport)
→ CoinMarketCapSource → tracker → bus → writer → database → the `/v1` endpoints and the
snapshot. Time is a fake clock, so simulated hours pass at once."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clocks import FakeTime, StopAfter
from tests.fixtures.fake_coinmarketcap import FakeCoinMarketCap, status
from tickhub.bootstrap import ConfigurationError, build_sources, start_writer
from tickhub.bus import Bus
from tickhub.marketdata.coinmarketcap.client import CoinMarketCapClient
from tickhub.marketdata.coinmarketcap.source import CoinMarketCapSource
from tickhub.marketdata.events import CmcListings, SourceState
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.store.writer import Writer
from tickhub.runtime import Runtime
from tickhub.settings import CoinMarketCapSettings, Settings

PROBLEM = "application/problem+json"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2026, 3, 28, 22, 41, 17, 250000, tzinfo=UTC).timestamp()  # mid-minute
MINUTES = 150  # two and a half hours, over midnight and three hour boundaries
STALE_AT = 40  # on this call, CMC answers with the quote of the call before


def iso(epoch_s: float) -> str:
    return (EPOCH + timedelta(seconds=epoch_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sol_price(minute: int) -> float:
    """SOL's price for the quote updated in epoch minute `minute`: up and down."""
    return round(150.0 + 10 * math.sin(minute / 7), 6)


def moving_quotes(time: FakeTime) -> FakeCoinMarketCap:
    """The Pro API's two endpoints; quotes move every minute and each call takes a while."""

    def listings(server: FakeCoinMarketCap) -> dict[str, Any]:
        minute = math.floor(time.now / 60) - 1  # updated half a minute before the call
        if server.listings_calls == STALE_AT:
            minute -= 1
        updated = iso(minute * 60 + 30)
        coins = [
            coin(1, "BTC", "Bitcoin", 1, 60_000.0 + minute % 100, updated),
            coin(5426, "SOL", "Solana", 5, sol_price(minute), updated),
            coin(74, "DOGE", "Dogecoin", 8, 0.125, updated),
            coin(7083, "UNI", "Uniswap", 20, 7.5, updated),
            coin(99999, "UNI", "Universe", 900, 0.001, updated),  # the same symbol
            coin(12345, "W.X", "Dotted", 50, 1.0, updated),  # no topic word
            coin(777, "NOPRICE", "No Price", None, None, updated),
        ]
        return {"status": status(1), "data": coins}

    def global_metrics(_server: FakeCoinMarketCap) -> dict[str, Any]:
        minute = math.floor(time.now / 60)
        data = {
            "active_cryptocurrencies": 9000 + minute % 7,
            "btc_dominance": 51.25,
            "eth_dominance": 17.5,
            "last_updated": iso(minute * 60 - 15),
            "quote": {"USD": {"total_market_cap": 2.5e12, "total_volume_24h": 8.0e10}},
        }
        return {"status": status(1), "data": data}

    return FakeCoinMarketCap(
        listings=listings, global_metrics=global_metrics, key="k-123", time=time, call_s=0.35
    )


def coin(
    cmc_id: int, symbol: str, name: str, rank: int | None, price: float | None, updated: str
) -> dict[str, Any]:
    return {
        "id": cmc_id,
        "name": name,
        "symbol": symbol,
        "slug": name.lower(),
        "cmc_rank": rank,
        "circulating_supply": 1_000_000,
        "total_supply": 2_000_000,
        "max_supply": None,
        "last_updated": updated,
        "quote": {
            "USD": {
                "price": price,
                "volume_24h": 1e9,
                "percent_change_1h": 0.5,
                "percent_change_24h": -2.25,
                "percent_change_7d": 7,
                "market_cap": 1e10,
                "last_updated": updated,
            }
        },
    }


def cmc_settings(**overrides: Any) -> CoinMarketCapSettings:
    values: dict[str, Any] = {
        "api_key": SecretStr("k-123"),
        "base_url": "https://cmc.test",
        "daily_credit_budget": 100_000,
        **overrides,
    }
    return CoinMarketCapSettings(**values)


async def run_source(
    runtime: Runtime, bus: Bus, minutes: int = MINUTES
) -> tuple[FakeTime, FakeCoinMarketCap, Tracker, CoinMarketCapSource]:
    fake = FakeTime(START, stop_after=minutes)
    server = moving_quotes(fake)
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    settings = cmc_settings()
    client = CoinMarketCapClient(settings, http=http, clock=fake.clock, sleep=fake.sleep)
    source = CoinMarketCapSource(
        settings, runtime.settings.symbols, client=client, clock=fake.clock, sleep=fake.sleep
    )
    tracker = Tracker(bus, max_trades=1)
    with pytest.raises(StopAfter):
        await source.run(tracker)
    await http.aclose()
    await tracker.flush()
    await bus.join()
    assert all(0 < s <= 60 for s in fake.sleeps)
    return fake, server, tracker, source


@pytest.fixture
async def pipeline(runtime: Runtime) -> Writer:
    """Writers subscribed to the bus exactly as `tickhub up` and `tickhub writer` do."""
    return await start_writer(runtime.settings, runtime.engine, runtime.bus)


async def test_minutes_stored_without_drift_and_served(
    client: httpx.AsyncClient, runtime: Runtime, pipeline: Writer
) -> None:
    fake, server, tracker, source = await run_source(runtime, runtime.bus)
    first = (math.floor(START / 60) + 1) * 60  # the first boundary after the start
    minutes = [first + 60 * i for i in range(MINUTES)]
    assert source.poller is not None and source.poller.stats.ticks == MINUTES
    assert source.poller.stats.skipped_ticks == 0
    assert len(fake.sleeps) == MINUTES + 1  # one wait per minute (the last one ended the run)
    assert server.calls == 2 * MINUTES
    assert tracker.statuses["coinmarketcap"].state is SourceState.CONNECTED
    assert pipeline.stats.cmc_global == MINUTES

    # the listings history: one row per coin and minute, every minute on its boundary
    r = await client.get(
        "/v1/listings/sol", params={"start": iso(first - 3600), "end": iso(minutes[-1] + 60)}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["cmc_id"], body["symbol"], body["name"]) == (5426, "SOL", "Solana")
    assert [item["time"] for item in body["items"]] == [iso(m) for m in minutes]
    assert body["next_start"] is None
    last = body["items"][-1]
    assert last["price"] == sol_price(minutes[-1] // 60 - 1)
    assert last["last_updated"] == iso(minutes[-1] - 30)
    assert (last["rank"], last["convert"], last["percent_change_7d"]) == (5, "USD", 7.0)
    assert last["max_supply"] is None

    # pages: limit and next_start walk the same rows
    walked: list[str] = []
    start = iso(first)
    while start is not None:
        page = (
            await client.get(
                "/v1/listings/5426",
                params={"start": start, "end": iso(minutes[-1] + 60), "limit": 64},
            )
        ).json()
        walked += [item["time"] for item in page["items"]]
        start = page["next_start"]
    assert walked == [iso(m) for m in minutes]

    # latest listings by rank, unranked last
    latest = (await client.get("/v1/listings")).json()
    assert [c["symbol"] for c in latest] == ["BTC", "SOL", "DOGE", "UNI", "W.X", "UNI", "NOPRICE"]
    assert {c["time"] for c in latest} == {iso(minutes[-1])}
    top2 = (await client.get("/v1/listings", params={"limit": 2})).json()
    assert [c["cmc_id"] for c in top2] == [1, 5426]

    # global metrics: latest and the history
    g = (await client.get("/v1/global-metrics")).json()
    assert g["time"] == iso(minutes[-1])
    assert g["active_cryptocurrencies"] == 9000 + (minutes[-1] // 60) % 7
    assert (g["btc_dominance"], g["total_market_cap"]) == (51.25, 2.5e12)
    history = (
        await client.get(
            "/v1/global-metrics/history",
            params={"start": iso(first), "end": iso(minutes[-1] + 60), "limit": 10_000},
        )
    ).json()
    assert [item["time"] for item in history["items"]] == [iso(m) for m in minutes]

    # minute prices for the coins no configured exchange trades (BTC is BTCUSDT's base)
    instruments = (await client.get("/v1/instruments", params={"exchange": "coinmarketcap"})).json()
    assert {(i["symbol"], i["base"], i["quote"]) for i in instruments} == {
        ("SOLUSD", "SOL", "USD"),
        ("DOGEUSD", "DOGE", "USD"),
        ("UNIUSD", "UNI", "USD"),
    }
    assert all(i["simulated"] is False for i in instruments)
    uni = (await client.get("/v1/prices/coinmarketcap/UNIUSD")).json()
    assert uni["price"] == 7.5  # the best ranked of the coins called UNI

    quote_minutes = [m // 60 - 1 for m in minutes]
    quote_minutes[STALE_AT - 1] -= 1  # the stale answer repeats the quote before it
    stored = sorted(set(quote_minutes))
    candles = (
        await client.get(
            "/v1/candles",
            params={
                "symbol": "SOL-USD",
                "exchange": "coinmarketcap",
                "interval": "1m",
                "start": iso(first - 3600),
                "end": iso(minutes[-1] + 60),
                "limit": 10_000,
            },
        )
    ).json()
    assert [c["time"] for c in candles] == [iso(m * 60) for m in stored]
    for c, m in zip(candles, stored, strict=True):
        assert c["open"] == c["high"] == c["low"] == c["close"] == sol_price(m)
        assert (c["volume"], c["trade_count"], c["vwap"]) == (0.0, 1, None)

    hourly = (
        await client.get(
            "/v1/candles",
            params={
                "symbol": "SOLUSD",
                "interval": "1h",
                "start": iso(first - 3600),
                "end": iso(minutes[-1] + 60),
            },
        )
    ).json()
    by_hour: dict[int, list[int]] = {}
    for m in stored:
        by_hour.setdefault(m // 60, []).append(m)
    assert [c["time"] for c in hourly] == [iso(h * 3600) for h in sorted(by_hour)]
    for c, h in zip(hourly, sorted(by_hour), strict=True):
        prices = [sol_price(m) for m in by_hour[h]]
        assert (c["open"], c["close"]) == (prices[0], prices[-1])
        assert (c["high"], c["low"]) == (max(prices), min(prices))
        assert c["vwap"] is None

    stats = (
        await client.get(
            "/v1/statistics",
            params={"symbol": "SOLUSD", "start": iso(first - 3600), "end": iso(minutes[-1] + 60)},
        )
    ).json()
    assert stats["count"] == len(stored)
    assert stats["vwap"] is None and stats["volume"] == 0.0
    assert stats["high"] == max(sol_price(m) for m in stored)

    # the minute CMC did not update is a true gap, and only that one
    coverage = (await client.get("/v1/coverage", params={"symbol": "SOLUSD"})).json()
    missing = quote_minutes[STALE_AT - 1] + 1
    assert [(g["first_id"], g["last_id"]) for g in coverage["gaps"]] == [(missing, missing)]


async def test_replayed_cmc_messages_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, pipeline: Writer
) -> None:
    recorded: list[CmcListings] = []

    async def record(_topic: str, message: object) -> None:
        if isinstance(message, CmcListings):
            recorded.append(message)

    await runtime.bus.subscribe("cmc.listings", record)
    await run_source(runtime, runtime.bus, minutes=5)
    before = (await client.get("/v1/listings/SOL", params={"start": iso(START - 600)})).json()
    new_rows = pipeline.stats.cmc_listings
    assert len(recorded) == 5 and new_rows == 5 * 7
    for message in recorded:  # at-least-once delivery: each arrives again
        await runtime.bus.publish(message.topic, message)
    await runtime.bus.join()
    after = (await client.get("/v1/listings/SOL", params={"start": iso(START - 600)})).json()
    assert after == before
    assert pipeline.stats.cmc_listings == new_rows


async def test_snapshot_holds_everything_latest(
    client: httpx.AsyncClient, runtime: Runtime, pipeline: Writer
) -> None:
    cache = SnapshotCache(runtime.engine, runtime.bus)
    await cache.start()
    try:
        await run_source(runtime, runtime.bus, minutes=3)
        await cache.settled()
        assert cache.body is not None
        client_app = client._transport.app  # type: ignore[attr-defined]
        client_app.state.snapshot_cache = cache
        body = (await client.get("/v1/snapshot")).json()
    finally:
        await cache.stop()
    assert [c["symbol"] for c in body["listings"]][:2] == ["BTC", "SOL"]
    assert body["global_metrics"]["btc_dominance"] == 51.25
    items = {(i["exchange"], i["symbol"]): i for i in body["items"]}
    assert set(items) == {("coinmarketcap", s) for s in ("SOLUSD", "DOGEUSD", "UNIUSD")}
    assert items["coinmarketcap", "DOGEUSD"]["price"] == 0.125


async def test_unknown_coin_and_bad_times_are_problems(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.get("/v1/listings/NOPE")
    assert (r.status_code, r.headers["content-type"], r.json()["field"]) == (404, PROBLEM, "coin")
    r = await client.get("/v1/listings/12")
    assert (r.status_code, r.json()["field"]) == (404, "coin")
    r = await client.get("/v1/listings/SOL", params={"start": "yesterday"})
    assert (r.status_code, r.headers["content-type"], r.json()["field"]) == (400, PROBLEM, "start")
    r = await client.get("/v1/global-metrics/history", params={"end": "2026-13-01"})
    assert (r.status_code, r.json()["field"]) == (400, "end")
    r = await client.get(
        "/v1/global-metrics/history",
        params={"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
    )
    assert (r.status_code, r.json()["field"]) == (400, "start")
    r = await client.get("/v1/listings", params={"limit": 0})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "limit"
    r = await client.get("/v1/global-metrics")
    assert (r.status_code, r.json()["field"]) == (404, "global_metrics")
    assert (await client.get("/v1/listings")).json() == []
    snapshot = (await client.get("/v1/snapshot")).json()
    assert (snapshot["listings"], snapshot["global_metrics"]) == ([], None)


async def test_coinmarketcap_needs_an_api_key(settings: Settings, engine: AsyncEngine) -> None:
    without = settings.model_copy(update={"sources": ["coinmarketcap"]})
    with pytest.raises(ConfigurationError) as info:
        await build_sources(without, engine)
    assert info.value.setting == "TICKHUB_CMC_API_KEY"
    assert "TICKHUB_CMC_API_KEY" in str(info.value)
    keyed = without.model_copy(update={"cmc": cmc_settings()})
    (source,) = await build_sources(keyed, engine)
    assert isinstance(source, CoinMarketCapSource)
    assert source.traded_bases == {"BTC", "ETH", "BNB"}
