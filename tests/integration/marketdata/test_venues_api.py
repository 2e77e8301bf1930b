"""`/v1/compare`, `/v1/exchanges` and `/v1/coverage` across venues, over the real writer."""

from __future__ import annotations

import httpx
import pytest

from tickhub.common.time import now_us
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.runtime import Runtime

S = 1_000_000
PROBLEM = "application/problem+json"


async def put(
    runtime: Runtime,
    exchange: str,
    symbol: str,
    base: str,
    quote: str,
    trades: list[tuple[float, float]],
    *,
    simulated: bool = False,
) -> None:
    assert runtime.writer is not None
    t0 = now_us() - 30 * S
    rows = tuple(Trade(i + 1, t0 + i * S, p, q) for i, (p, q) in enumerate(trades))
    await runtime.writer.write(TradeBatch(exchange, symbol, rows, base, quote, simulated))


@pytest.fixture
async def venues(runtime: Runtime) -> None:
    await put(runtime, "binance", "BTCUSDT", "BTC", "USDT", [(100.0, 1.0), (102.0, 3.0)])
    await put(runtime, "coinbase", "BTCUSD", "BTC", "USD", [(101.0, 2.0), (103.0, 2.0)])
    await put(runtime, "kraken", "XBTUSD", "XBT", "USD", [(99.0, 1.0), (98.0, 1.0)])
    await put(runtime, "coinbase", "ETHUSD", "ETH", "USD", [(10.0, 1.0)])
    await put(runtime, "sim", "BTCUSDT", "BTC", "USDT", [(500.0, 1.0)], simulated=True)


@pytest.mark.usefixtures("venues")
async def test_compare_groups_usd_quotes_and_gives_spread_and_vwap(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/v1/compare", params={"base": "btc", "quote": "USD", "window": 600})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["base"], body["quote"]) == ("BTC", "USD")
    rows = [(v["exchange"], v["symbol"], v["quote"], v["price"]) for v in body["venues"]]
    assert rows == [
        ("sim", "BTCUSDT", "USDT", 500.0),  # listed, flagged, kept out of the figures
        ("coinbase", "BTCUSD", "USD", 103.0),
        ("binance", "BTCUSDT", "USDT", 102.0),
        ("kraken", "XBTUSD", "USD", 98.0),  # XBT is BTC
    ]
    assert body["venues"][0]["simulated"] is True
    assert body["high"] == {"exchange": "coinbase", "symbol": "BTCUSD", "price": 103.0}
    assert body["low"] == {"exchange": "kraken", "symbol": "XBTUSD", "price": 98.0}
    assert body["spread"] == pytest.approx(5.0)
    assert body["spread_pct"] == pytest.approx(5.0 / 98.0 * 100)
    notional = 100 * 1 + 102 * 3 + 101 * 2 + 103 * 2 + 99 + 98
    assert body["volume"] == pytest.approx(10.0)
    assert body["vwap"] == pytest.approx(notional / 10.0)
    coinbase = next(v for v in body["venues"] if v["exchange"] == "coinbase")
    assert coinbase["vwap"] == pytest.approx(102.0)
    assert coinbase["trades"] == 2


@pytest.mark.usefixtures("venues")
async def test_a_stablecoin_quote_is_kept_distinct(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/compare", params={"base": "BTC", "quote": "USDT"})
    assert [v["exchange"] for v in r.json()["venues"]] == ["sim", "binance"]
    assert r.json()["spread"] == 0.0  # one real venue
    r = await client.get("/v1/compare", params={"base": "DOGE", "quote": "USD"})
    assert r.status_code == 200
    assert r.json()["venues"] == []
    assert r.json()["spread"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"base": "B-T-C", "quote": "USD"}, "base"),
        ({"base": "BTC", "quote": "US D"}, "quote"),
        ({"base": "BTC", "quote": "USD", "window": "10"}, "window"),
        ({"quote": "USD"}, "base"),
    ],
)
async def test_bad_compare_parameters_name_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get("/v1/compare", params=params)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    fields = {problem.get("field")} | {e.get("field") for e in problem.get("errors") or []}
    assert any(f and field in f for f in fields), problem


@pytest.mark.usefixtures("venues")
async def test_exchanges_are_described(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/exchanges")
    by_name = {e["name"]: e for e in r.json()}
    assert by_name["coinbase"]["country"] == "United States"
    assert by_name["coinbase"]["capabilities"]["trade_ids"] is True
    kraken = by_name["kraken"]
    assert (kraken["title"], kraken["country"]) == ("Kraken", "United States")
    assert kraken["capabilities"] == {
        "trade_ids": False,
        "backfill": True,
        "transport": "websocket",
    }
    assert kraken["completeness"] == "time"
    seed = (await client.get("/exchanges")).json()["data"]
    assert {e["exchange"]: e["country"] for e in seed}["coinbase"] == "United States"


@pytest.mark.usefixtures("venues")
async def test_coverage_claims_no_completeness_without_consecutive_ids(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/v1/coverage", params={"symbol": "XBTUSD", "exchange": "kraken"})
    body = r.json()
    assert body["gaps"] == []
    assert body["complete"] is False  # not claimed: the venue has no consecutive ids
    assert body["completeness"] == "time"
    assert "not claimed" in body["note"]
    r = await client.get("/v1/coverage", params={"symbol": "BTCUSD", "exchange": "coinbase"})
    assert (r.json()["complete"], r.json()["completeness"]) == (True, "ids")
