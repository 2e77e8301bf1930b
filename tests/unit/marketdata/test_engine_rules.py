"""The connector engine's REST rules, once for every venue: a request budget per second,
429 with and without `Retry-After`, a 4xx that names its status. Fake time, no sockets."""

from __future__ import annotations

import random

import httpx
import pytest

from tests.fixtures.clocks import FakeTime
from tickhub.marketdata.ingest.coinbase.source import CoinbaseRest
from tickhub.marketdata.ingest.engine import RequestRate, RestError


def test_request_rate_is_a_sliding_second() -> None:
    rate = RequestRate(3)
    assert [rate.wait_time(1, 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rate.wait_time(1, 100.4) == pytest.approx(0.6)  # the oldest leaves at 101.0
    assert rate.wait_time(1, 101.0) == 0.0
    rate.block(2.0, 101.5)  # a 429 said Retry-After: 2
    assert rate.wait_time(1, 102.0) == pytest.approx(1.5)


def rest_with(*responses: httpx.Response, clock: FakeTime) -> tuple[CoinbaseRest, list[str]]:
    queue = list(responses)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return queue.pop(0)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    rest = CoinbaseRest(
        client,
        "https://api.example",
        RequestRate(10),
        backoff_initial_s=1.0,
        backoff_max_s=8.0,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
    )
    return rest, seen


async def test_429_waits_retry_after_or_the_venues_default() -> None:
    clock = FakeTime(1_000.0)
    rest, seen = rest_with(
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(429),  # no Retry-After: Coinbase's limits are per second
        httpx.Response(200, json=[]),
        clock=clock,
    )
    assert await rest.trades_before_id("BTC-USD", 100, 50) == []
    assert clock.sleeps == [3.0, 1.0]
    assert rest.throttled == 2
    assert seen[-1] == "https://api.example/products/BTC-USD/trades?after=100&limit=50"


async def test_a_4xx_fails_at_once_and_names_its_status() -> None:
    clock = FakeTime(1_000.0)
    rest, seen = rest_with(httpx.Response(404, json={"message": "NotFound"}), clock=clock)
    with pytest.raises(RestError) as info:
        await rest.products()
    assert info.value.status == 404
    assert len(seen) == 1
    assert clock.sleeps == []
