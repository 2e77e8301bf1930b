"""Seed 004's `/api/crypto_price/statistics/` streamed: the prices are read and written a
chunk at a time and the statistics follow them; the whole body is the seed's shape, with
the same figures as computed from the stored trades. SQLite and PostgreSQL."""

from __future__ import annotations

import random
import statistics as pystats
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import store
from tickhub.marketdata.events import Trade
from tickhub.marketdata.service import _seeds
from tickhub.runtime import Runtime

T0 = datetime(2026, 3, 28, tzinfo=UTC)
S = 1_000_000
T0_US = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


async def test_streamed_in_chunks_with_the_seed_figures(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 7)  # several chunks, one partial
    rnd = random.Random(4)
    trades = [
        Trade(i + 1, T0_US + i * S + rnd.randrange(S), round(rnd.uniform(90, 110), 2), 1.0, None)
        for i in range(60)
    ]
    await store(runtime, "binance", "BTCUSDT", trades)
    picked = trades[5:50]  # 00:00:05 to 00:00:49 (whole seconds, both ends included)
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": "2026-03-28T00:00:05",
            "end_datetime": "2026-03-28T00:00:49",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    prices = [t.price for t in picked]
    assert body["crypto_prices"] == [
        {
            "id": t.trade_id,
            "datetime": (T0 + timedelta(seconds=t.ts // S - T0_US // S)).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "symbol": "BTCUSDT",
            "price": t.price,
        }
        for t in picked
    ]
    assert body["total_count"] == len(prices)
    assert body["average_price"] == pystats.fmean(prices)
    assert body["median_price"] == pystats.median(prices)
    assert body["standard_deviation"] == pytest.approx(pystats.pstdev(prices), rel=1e-12)
    assert body["percentage_change"] == pytest.approx((prices[-1] - prices[0]) / prices[0] * 100)
    assert list(body) == [
        "crypto_prices",
        "total_count",
        "average_price",
        "median_price",
        "standard_deviation",
        "percentage_change",
    ]


async def test_errors_come_before_any_body(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "MAX_SEED_PRICES", 10)
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0_US + i * S, 100.0, 1.0) for i in range(1, 20)]
    )
    params = {"symbol": "BTCUSDT", "start_datetime": "2026-03-28T00:00:01"}
    over = await client.get("/api/crypto_price/statistics/", params=params)
    assert over.status_code == 400
    assert over.json()["detail"].startswith("More than ")  # before any byte of a body
    params["end_datetime"] = "2026-03-28T00:00:05"
    assert (await client.get("/api/crypto_price/statistics/", params=params)).json()[
        "total_count"
    ] == 5
