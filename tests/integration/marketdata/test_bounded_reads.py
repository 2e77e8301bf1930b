"""Every public read has a bounded worst case: candles folded from trades only over short
windows, rollup reads capped, statistics answered from the rollups (exact where the
rollups carry the figure, the median with its bound), seed reads capped. On SQLite and
PostgreSQL, through the real writer."""

from __future__ import annotations

import statistics as pystats

import httpx
import pytest

from tests.integration.marketdata.test_v1_api import (
    BURST_AT,
    SPAN,
    T0,
    S,
    assert_problem,
    iso,
    us,
)
from tickhub.marketdata import service
from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE

pytest_plugins = ["tests.integration.marketdata.test_v1_api"]


async def test_intervals_folded_from_trades_only_over_an_hour(
    client: httpx.AsyncClient, btc: list[Trade]
) -> None:
    for params in (
        {"interval": "86399s", "limit": "10000"},
        {"interval": "86399s", "start": iso(T0), "limit": "1"},
        {"interval": "30s", "start": iso(T0), "end": iso(T0 + 2 * HOUR)},
        {"interval": "90s", "start": iso(T0), "end": iso(T0 + HOUR + 90 * 1_000_000)},
    ):
        r = await client.get("/v1/candles", params={"symbol": "BTCUSDT", **params})
        assert_problem(r, "interval", 400)
        assert "minutes" in r.json()["detail"]

    # one end open: the window shrinks to the hour before `end` (or after `start`)
    end = T0 + 6 * HOUR
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "1s", "end": iso(end), "limit": "10000"},
    )
    assert r.status_code == 200, r.text
    got = [us(c["time"]) for c in r.json()]
    want = sorted({t.ts - t.ts % 1_000_000 for t in btc if end - HOUR <= t.ts < end})
    assert got == want and len(got) > 100
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "1s", "start": iso(T0), "limit": "10000"},
    )
    assert r.status_code == 200, r.text
    assert all(T0 <= us(c["time"]) < T0 + HOUR for c in r.json())
    assert len(r.json()) == len({t.ts // 1_000_000 for t in btc if T0 <= t.ts < T0 + HOUR})


async def test_trades_folded_per_request_are_capped(
    client: httpx.AsyncClient, btc: list[Trade], monkeypatch: pytest.MonkeyPatch
) -> None:
    in_burst_hour = [t for t in btc if BURST_AT - BURST_AT % HOUR <= t.ts < BURST_AT + HOUR]
    monkeypatch.setattr(service._core, "MAX_TRADE_ROWS", len(in_burst_hour) // 2)
    hour = BURST_AT - BURST_AT % HOUR
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "1s", "start": iso(hour), "end": iso(hour + HOUR)},
    )
    assert_problem(r, "start", 400)


async def test_rollup_reads_are_capped(client: httpx.AsyncClient, btc: list[Trade]) -> None:
    # 9,000 eleven-minute candles would read 99,000 one-minute rollups
    start = T0 - 100 * DAY
    r = await client.get(
        "/v1/candles",
        params={
            "symbol": "BTCUSDT",
            "interval": "11m",
            "start": iso(start),
            "end": iso(start + 9_000 * 11 * MINUTE),
        },
    )
    assert_problem(r, "interval", 400)
    assert str(service.MAX_ROLLUP_ROWS) in r.json()["detail"]
    # with one end open the same request answers, with fewer candles
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "11m", "end": iso(T0 + SPAN), "limit": "10000"},
    )
    assert r.status_code == 200, r.text
    assert 0 < len(r.json()) <= service.MAX_ROLLUP_ROWS // 11
    # whole hours read hourly rollups: 10,000 of them answer
    r = await client.get(
        "/v1/candles",
        params={"symbol": "BTCUSDT", "interval": "4h", "end": iso(T0 + SPAN), "limit": "10000"},
    )
    assert r.status_code == 200
    assert len(r.json()) == len({(t.ts - t.ts % (4 * HOUR)) for t in btc})


def _reference(trades: list[Trade], start: int, end: int) -> dict[str, float]:
    sel = sorted((t for t in trades if start <= t.ts < end), key=lambda t: (t.ts, t.trade_id))
    prices = [t.price for t in sel]
    volume = sum(t.qty for t in sel)
    quote = sum(t.price * t.qty for t in sel)
    return {
        "count": len(sel),
        "open": prices[0],
        "close": prices[-1],
        "high": max(prices),
        "low": min(prices),
        "mean": pystats.fmean(prices),
        "std": pystats.pstdev(prices),
        "vwap": quote / volume,
        "volume": volume,
        "quote_volume": quote,
        "median": pystats.median(prices),
    }


WINDOWS = [
    (0, 4_000_000_000_000_000),  # everything: answered from the rollups
    (T0 + 17 * 1_000_000 + 3, T0 + 2 * DAY + 5 * HOUR + 7 * MINUTE + 12_345),  # partial minutes
    (T0 + HOUR - 1, T0 + 2 * HOUR + 1),
    (BURST_AT - 2 * 1_000_000, BURST_AT + 3 * 1_000_000),  # inside one minute
    (T0 + 59 * MINUTE, T0 + DAY + 61 * MINUTE),
]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("exact_median_up_to", [10_000, 50])
async def test_statistics_from_rollups(
    client: httpx.AsyncClient,
    btc: list[Trade],
    monkeypatch: pytest.MonkeyPatch,
    window: tuple[int, int],
    exact_median_up_to: int,
) -> None:
    monkeypatch.setattr(service._stats, "EXACT_MEDIAN_TRADES", exact_median_up_to)
    start, end = window
    r = await client.get(
        "/v1/statistics",
        params={"symbol": "BTCUSDT", "start": str(start // 1000), "end": str(end // 1000)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    want = _reference(btc, start // 1000 * 1000, end // 1000 * 1000)
    true_median = want.pop("median")
    for key, value in want.items():
        assert body[key] == pytest.approx(value, rel=1e-9), key
    if want["count"] <= exact_median_up_to:
        assert body["median_error"] == 0
        assert body["median"] == pytest.approx(true_median, rel=1e-12)
    else:
        assert body["median_error"] >= 0  # 0 when every part holds a single price
        assert abs(body["median"] - true_median) <= body["median_error"] * (1 + 1e-12)
        if end - start <= DAY:  # one-minute rollups: a tight bound
            assert body["median_error"] < 0.001 * true_median


async def test_seed_reads_are_capped(
    client: httpx.AsyncClient, btc: list[Trade], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service._seeds, "MAX_SEED_MATCHES", 100)
    monkeypatch.setattr(service, "MAX_SEED_MATCHES", 100)
    r = await client.get("/api/crypto_price/", params={"symbol": "BTCUSDT"})
    assert r.status_code == 400
    assert "narrow start_datetime and end_datetime" in r.json()["detail"]
    r = await client.get(
        "/api/crypto_price/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": iso(T0 + HOUR)[:19],
            "end_datetime": iso(T0 + HOUR + 30 * MINUTE)[:19],
        },
    )
    assert r.status_code == 200
    assert r.json()["count"] == sum(1 for t in btc if T0 + HOUR <= t.ts <= T0 + 90 * MINUTE)

    monkeypatch.setattr(service._seeds, "MAX_SEED_PRICES", 20)
    monkeypatch.setattr(service, "MAX_SEED_PRICES", 20)
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={"symbol": "BTCUSDT", "end_datetime": iso(T0 + HOUR)[:19]},
    )
    assert r.status_code == 400
    assert "More than 20 prices match" in r.json()["detail"]


async def test_statistics_read_few_trades_at_a_partial_minute(
    client: httpx.AsyncClient, btc: list[Trade], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the burst puts more than 50 trades in one minute: a window that cuts that minute
    # reads its trades (one object each), so past the bound it must end on a whole minute
    minute = BURST_AT - BURST_AT % MINUTE
    assert sum(1 for t in btc if minute <= t.ts < minute + MINUTE) > 50
    monkeypatch.setattr(service._stats, "MAX_EDGE_TRADES", 50)
    params = {"symbol": "BTCUSDT"}
    r = await client.get(
        "/v1/statistics", params={**params, "start": iso(BURST_AT - 10 * S), "end": iso(T0 + DAY)}
    )
    assert_problem(r, "start", 400)
    assert "whole minute" in r.json()["detail"]
    r = await client.get(
        "/v1/statistics", params={**params, "start": iso(T0), "end": iso(BURST_AT + 10 * S)}
    )
    assert_problem(r, "end", 400)
    r = await client.get(
        "/v1/statistics", params={**params, "start": iso(minute), "end": iso(minute + MINUTE)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["count"] == sum(1 for t in btc if minute <= t.ts < minute + MINUTE)


def test_bounds_keep_a_request_within_a_second_over_ten_million_trades() -> None:
    # bench/bounds.py measured each bound with 10,000,000 trades stored: folding 100,000
    # trades into sub-minute candles, reading two partial minutes of 100,000 trades, or an
    # offset of 990,000 into seed 004's prices each took a core over a second
    assert service.MAX_TRADE_ROWS <= 50_000
    assert service._stats.MAX_EDGE_TRADES <= 20_000
    assert service.MAX_SEED_MATCHES <= 100_000
