"""CoinMarketCap client and poller against a fake Pro API (httpx.MockTransport) speaking
the documented JSON shapes; time is a fake clock, so no test sleeps for real."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.fixtures.clocks import FakeTime, StopAfter
from tests.fixtures.fake_coinmarketcap import FakeCoinMarketCap, status
from tickhub.common.clock import MinuteTick
from tickhub.common.time import datetime_to_us
from tickhub.marketdata.coinmarketcap.client import (
    CmcMalformedError,
    CmcNonRetryableError,
    CmcRateLimitedError,
    CmcUnavailableError,
    CoinMarketCapClient,
    GlobalMetricsResult,
    ListingsResult,
    parse_global,
    parse_listing,
)
from tickhub.marketdata.coinmarketcap.poller import CoinMarketCapPoller
from tickhub.marketdata.events import RejectedFrame
from tickhub.settings import CoinMarketCapSettings

KEY = "test-key-0123"
BASE = "https://cmc.test"
T0 = 1_700_000_000.0 + 5.5  # 2023-11-14T22:13:25.5Z


def listing(i: int, symbol: str, price: float | None) -> dict[str, Any]:
    return {
        "id": i,
        "name": symbol.title(),
        "symbol": symbol,
        "slug": symbol.lower(),
        "cmc_rank": i,
        "num_market_pairs": 500,
        "circulating_supply": 19_500_000,
        "total_supply": 19_500_000,
        "max_supply": 21_000_000 if symbol == "BTC" else None,
        "last_updated": "2023-11-14T22:13:00.000Z",
        "date_added": "2013-04-28T00:00:00.000Z",
        "tags": ["mineable"],
        "platform": None,
        "quote": {
            "USD": {
                "price": price,
                "volume_24h": 1.5e10,
                "volume_change_24h": -3.2,
                "percent_change_1h": 0.12,
                "percent_change_24h": -1.5,
                "percent_change_7d": 4,
                "market_cap": 7.1e11,
                "market_cap_dominance": 51.2,
                "fully_diluted_market_cap": 7.6e11,
                "last_updated": "2023-11-14T22:13:00.000Z",
            }
        },
    }


LISTINGS_BODY = {
    "status": status(1),
    "data": [listing(1, "BTC", 36512.25), listing(1027, "ETH", 2051.5)],
}
GLOBAL_BODY = {
    "status": status(1),
    "data": {
        "active_cryptocurrencies": 8800,
        "total_cryptocurrencies": 26000,
        "active_market_pairs": 60000,
        "active_exchanges": 700,
        "btc_dominance": 51.23,
        "eth_dominance": 17.1,
        "last_updated": "2023-11-14T22:13:00.000Z",
        "quote": {
            "USD": {
                "total_market_cap": 1.39e12,
                "total_volume_24h": 6.1e10,
                "last_updated": "2023-11-14T22:13:00.000Z",
            }
        },
    },
}


def make_settings(**overrides: Any) -> CoinMarketCapSettings:
    values: dict[str, Any] = {"api_key": SecretStr(KEY), "base_url": BASE, **overrides}
    return CoinMarketCapSettings(**values)


@pytest.fixture
def server() -> FakeCoinMarketCap:
    """The fake Pro API, answering with the bodies above unless a test queues others."""
    return FakeCoinMarketCap(listings=lambda _: LISTINGS_BODY, global_metrics=lambda _: GLOBAL_BODY)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(T0)


@pytest.fixture
async def client(server: FakeCoinMarketCap, fake_time: FakeTime) -> Any:
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    yield CoinMarketCapClient(
        make_settings(), http=http, clock=fake_time.clock, sleep=fake_time.sleep
    )
    await http.aclose()


def test_settings_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKHUB_CMC_API_KEY", "k")
    monkeypatch.setenv("TICKHUB_CMC_LIMIT", "250")
    from tickhub.settings import Settings

    settings = Settings()
    assert settings.cmc.api_key.get_secret_value() == "k"
    assert settings.cmc.limit == 250
    assert settings.cmc.base_url == "https://pro-api.coinmarketcap.com"
    assert settings.cmc.daily_credit_budget == 333


async def test_listings_parsed_and_key_sent(
    client: CoinMarketCapClient, server: FakeCoinMarketCap
) -> None:
    result = await client.listings()
    request = server.requests[0]
    assert request.headers["X-CMC_PRO_API_KEY"] == KEY
    assert request.url.path == "/v1/cryptocurrency/listings/latest"
    assert dict(request.url.params) == {"start": "1", "limit": "100", "convert": "USD"}
    assert result.credit_count == 1
    btc, eth = result.listings
    assert (btc.cmc_id, btc.symbol, btc.name, btc.rank, btc.price) == (1, "BTC", "Btc", 1, 36512.25)
    assert btc.percent_change_7d == 4.0
    assert btc.max_supply == 21_000_000 and eth.max_supply is None
    assert btc.last_updated == datetime_to_us(datetime(2023, 11, 14, 22, 13, tzinfo=UTC))
    assert result.timestamp == datetime(2023, 11, 14, 22, 14, 0, 123000, tzinfo=UTC)


async def test_global_metrics_parsed(
    client: CoinMarketCapClient, server: FakeCoinMarketCap
) -> None:
    result = await client.global_metrics()
    assert server.requests[0].headers["X-CMC_PRO_API_KEY"] == KEY
    assert dict(server.requests[0].url.params) == {"convert": "USD"}
    m = result.metrics
    assert (m.active_cryptocurrencies, m.btc_dominance, m.eth_dominance) == (8800, 51.23, 17.1)
    assert (m.total_market_cap, m.total_volume_24h) == (1.39e12, 6.1e10)
    assert m.last_updated == datetime_to_us(datetime(2023, 11, 14, 22, 13, tzinfo=UTC))


def test_numbers_that_cannot_travel_read_as_null_or_are_refused() -> None:
    coin = listing(1, "BTC", math.inf)
    coin["quote"]["USD"]["market_cap"] = math.nan
    parsed = parse_listing(coin, "USD")
    assert (parsed.price, parsed.market_cap, parsed.volume_24h) == (None, None, 1.5e10)
    with pytest.raises(TypeError, match="finite"):
        parse_global({**GLOBAL_BODY["data"], "btc_dominance": math.inf}, "USD")


@pytest.mark.parametrize(("http", "code"), [(401, 1001), (402, 1003), (403, 1006)])
async def test_auth_and_plan_errors_not_retried(
    client: CoinMarketCapClient, server: FakeCoinMarketCap, http: int, code: int
) -> None:
    body = {"status": status(0, code, "This API Key is invalid.")}
    server.script["/v1/cryptocurrency/listings/latest"] = [httpx.Response(http, json=body)]
    with pytest.raises(CmcNonRetryableError) as info:
        await client.listings()
    assert (info.value.http_status, info.value.error_code) == (http, code)
    assert "This API Key is invalid." in str(info.value)
    assert len(server.requests) == 1


async def test_rate_limit_reported(client: CoinMarketCapClient, server: FakeCoinMarketCap) -> None:
    body = {"status": status(0, 1008, "You've exceeded your API Key's HTTP request rate limit.")}
    server.script["/v1/global-metrics/quotes/latest"] = [
        httpx.Response(429, json=body, headers={"Retry-After": "42"})
    ]
    with pytest.raises(CmcRateLimitedError) as info:
        await client.global_metrics()
    assert info.value.error_code == 1008
    assert info.value.retry_after_s == 42.0
    assert len(server.requests) == 1


async def test_5xx_and_network_errors_retried_with_backoff(
    client: CoinMarketCapClient, server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    calls = 0
    default = server.handler

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused", request=request)
        if calls == 2:
            return httpx.Response(502, text="Bad Gateway")
        return default(request)

    server.handler = flaky  # type: ignore[method-assign]
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: server.handler(r)))
    retrying = CoinMarketCapClient(
        make_settings(), http=http, clock=fake_time.clock, sleep=fake_time.sleep
    )
    result = await retrying.listings()
    await http.aclose()
    assert len(result.listings) == 2
    assert calls == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_5xx_gives_up_at_deadline(
    client: CoinMarketCapClient, server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    server.script["/v1/cryptocurrency/listings/latest"] = [
        httpx.Response(500, json={"status": status(0, 500, "oops")}) for _ in range(50)
    ]
    with pytest.raises(CmcUnavailableError):
        await client.listings(deadline=fake_time.now + 10)
    assert sum(fake_time.sleeps) < 10
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    "body",
    [
        "<html>maintenance</html>",
        json.dumps({"status": status(1), "data": {"not": "a list"}}),
        json.dumps({"status": status(1), "data": [{"id": 1, "symbol": "BTC"}]}),
        json.dumps({"data": []}),
    ],
)
async def test_malformed_body_kept_aside(
    client: CoinMarketCapClient, server: FakeCoinMarketCap, body: str
) -> None:
    server.script["/v1/cryptocurrency/listings/latest"] = [httpx.Response(200, text=body)]
    with pytest.raises(CmcMalformedError) as info:
        await client.listings()
    rejected = info.value.rejected
    assert isinstance(rejected, RejectedFrame)
    assert rejected.source == "coinmarketcap"
    assert rejected.raw == body
    assert rejected.error


# --- poller ---
class Recorder:
    def __init__(self) -> None:
        self.listings: list[tuple[MinuteTick, ListingsResult]] = []
        self.globals: list[tuple[MinuteTick, GlobalMetricsResult]] = []
        self.rejects: list[RejectedFrame] = []

    async def on_listings(self, tick: MinuteTick, result: ListingsResult) -> None:
        self.listings.append((tick, result))

    async def on_global(self, tick: MinuteTick, result: GlobalMetricsResult) -> None:
        self.globals.append((tick, result))

    async def on_reject(self, frame: RejectedFrame) -> None:
        self.rejects.append(frame)


def make_poller(
    server: FakeCoinMarketCap, fake_time: FakeTime, minutes: int, **overrides: Any
) -> tuple[CoinMarketCapPoller, Recorder, httpx.AsyncClient]:
    settings = make_settings(**overrides)
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    client = CoinMarketCapClient(settings, http=http, clock=fake_time.clock, sleep=fake_time.sleep)
    recorder = Recorder()
    ticks = 0

    async def sleep(seconds: float) -> None:
        nonlocal ticks
        ticks += 1
        if ticks > minutes:
            raise StopAfter
        await fake_time.sleep(seconds)

    poller = CoinMarketCapPoller(
        settings,
        client,
        recorder.on_listings,
        recorder.on_global,
        clock=fake_time.clock,
        sleep=sleep,
        on_reject=recorder.on_reject,
    )
    return poller, recorder, http


async def test_poller_both_calls_every_minute(
    server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    poller, rec, http = make_poller(server, fake_time, minutes=30, daily_credit_budget=10_000)
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    assert len(rec.listings) == len(rec.globals) == 30
    minutes = [tick.epoch_s for tick, _ in rec.globals]
    assert all(m % 60 == 0 for m in minutes)
    assert minutes == [minutes[0] + 60 * i for i in range(30)]
    assert sorted(server.paths()) == sorted(
        ["/v1/cryptocurrency/listings/latest", "/v1/global-metrics/quotes/latest"] * 30
    )
    assert poller.credits_used == 60


async def test_poller_respects_credit_budget(
    server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    # limit 300 → listings cost 2 credits; with the global call, 3 a minute.
    body = {**LISTINGS_BODY, "status": status(2)}
    server.script["/v1/cryptocurrency/listings/latest"] = [
        httpx.Response(200, json=body) for _ in range(100)
    ]
    poller, rec, http = make_poller(
        server, fake_time, minutes=20, daily_credit_budget=20, limit=300
    )
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    assert {r.url.params.get("limit") for r in server.requests} == {"300", None}
    # 6 minutes x 3 = 18 credits; then 19 and 20 go to global calls; then nothing.
    assert len(rec.listings) == 6
    assert len(rec.globals) == 8
    assert poller.credits_used == 20
    assert poller.stats.listings_skipped_budget == 14
    assert poller.stats.global_skipped_budget == 12


async def test_poller_budget_resets_at_utc_midnight(server: FakeCoinMarketCap) -> None:
    fake_time = FakeTime(datetime(2024, 3, 1, 23, 56, 30, tzinfo=UTC).timestamp())
    poller, rec, http = make_poller(server, fake_time, minutes=6, daily_credit_budget=4)
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    days = [tick.at.strftime("%H:%M") for tick, _ in rec.listings]
    assert days == ["23:57", "23:58", "00:00", "00:01"]


async def test_poller_rate_limited_waits_then_resumes(
    server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    body = {"status": status(0, 1008, "rate limit")}
    server.script["/v1/cryptocurrency/listings/latest"] = [
        httpx.Response(429, json=body, headers={"Retry-After": "90"})
    ]
    poller, rec, http = make_poller(server, fake_time, minutes=4, daily_credit_budget=10_000)
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    assert poller.stats.rate_limited == 1
    # Minute 1: 429 (global succeeded); minute 2 within Retry-After: skipped; 3, 4: both.
    assert len(rec.listings) == 2
    assert len(rec.globals) == 3


async def test_poller_stops_on_bad_key(server: FakeCoinMarketCap, fake_time: FakeTime) -> None:
    body = {"status": status(0, 1001, "This API Key is invalid.")}
    server.script["/v1/cryptocurrency/listings/latest"] = [httpx.Response(401, json=body)]
    poller, _rec, http = make_poller(server, fake_time, minutes=5)
    with pytest.raises(CmcNonRetryableError):
        await poller.run()
    await http.aclose()


async def test_poller_reports_malformed_and_continues(
    server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    server.script["/v1/global-metrics/quotes/latest"] = [httpx.Response(200, text="{}")]
    poller, rec, http = make_poller(server, fake_time, minutes=2, daily_credit_budget=10_000)
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    assert len(rec.rejects) == 1 and rec.rejects[0].raw == "{}"
    assert len(rec.globals) == 1
    assert len(rec.listings) == 2


async def test_poller_twelve_hours_of_slow_answers_without_drift(
    server: FakeCoinMarketCap, fake_time: FakeTime
) -> None:
    rng = random.Random(11)
    default = server.handler

    def slow(request: httpx.Request) -> httpx.Response:
        fake_time.now += rng.uniform(0.05, 25.0)  # each call takes up to 25 s
        return default(request)

    server.handler = slow  # type: ignore[method-assign]
    minutes = 12 * 60
    poller, rec, http = make_poller(server, fake_time, minutes=minutes, daily_credit_budget=10_000)
    with pytest.raises(StopAfter):
        await poller.run()
    await http.aclose()
    ticks = [tick.epoch_s for tick, _ in rec.globals]
    first = (int(T0) // 60 + 1) * 60
    assert ticks == [first + 60 * i for i in range(minutes)]  # every boundary, once, in order
    assert [tick.epoch_s for tick, _ in rec.listings] == ticks
    assert poller.stats.skipped_ticks == 0
    # one wait per minute, each up to the next boundary: no busy waiting, no fixed period
    assert len(fake_time.sleeps) == minutes
    assert all(0 < s <= 60 for s in fake_time.sleeps)
    assert any(s < 50 for s in fake_time.sleeps)
