"""Conditions on the whole market, on SQLite and PostgreSQL: CoinMarketCap's global
metrics and a coin's listing fields, stored through the real writer with gaps, aligned to
the candle closes by the market-data service and fed to the scanner, which must raise
exactly the alerts an independent carry-forward of the stored rows gives, with each
value's age; and the API refuses what cannot work, naming the field."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.accounts import signup
from tests.integration.alerts.test_scanner import (
    FIRST,
    LAST,
    MIN,
    T0,
    add_strategy,
    add_user,
    alerts,
    one_minute_series,
    replay,
    scanner,
    starts_of,
    step,
)
from tickhub.marketdata import service
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing, CmcListings, Trade, TradeBatch
from tickhub.runtime import Runtime

# Global metrics from minute 25 on (none before), none stored for minutes 36 to 44.
GLOBAL_MINUTES = [m for m in range(25, 61) if not 36 <= m <= 44]
# SOL's listings from minute 10 on, none for minutes 30 to 39.
LISTING_MINUTES = [m for m in range(10, 61) if not 30 <= m <= 39]


def dominance(m: int) -> float:
    return 50.0 + m % 12  # above 55 when m % 12 >= 6


def rank(m: int) -> int:
    return 4 if m % 4 < 2 else 6


def market_cap(m: int) -> float:
    return 8e10 + m * 1e9  # above 1e11 from minute 21


def sol(m: int) -> CmcListing:
    return CmcListing(
        5426, "SOL", "Solana", "solana", rank(m), price=20.0 + m, volume_24h=1e9,
        market_cap=market_cap(m), percent_change_1h=None, percent_change_24h=1.5,
        percent_change_7d=None, circulating_supply=None, total_supply=None, max_supply=None,
        last_updated=T0 + m * MIN,
    )  # fmt: skip


def other(m: int) -> CmcListing:
    return CmcListing(
        1, "BTC", "Bitcoin", "bitcoin", 1, price=90_000.0, volume_24h=None, market_cap=1.8e12,
        percent_change_1h=None, percent_change_24h=None, percent_change_7d=None,
        circulating_supply=None, total_supply=None, max_supply=None, last_updated=T0 + m * MIN,
    )  # fmt: skip


async def store_market(runtime: Runtime) -> None:
    writer = runtime.writer
    assert writer is not None
    for m in GLOBAL_MINUTES:
        await writer.write_cmc(
            CmcGlobalMetrics(T0 + m * MIN, "USD", 9000 + m, dominance(m), 17.0, 3e12 + m, 1e11,
                             T0 + m * MIN)
        )  # fmt: skip
    for m in LISTING_MINUTES:
        await writer.write_cmc(CmcListings(T0 + m * MIN, "USD", (other(m), sol(m))))


def carried(minutes: Sequence[int], close: int) -> int | None:
    """The oracle: the latest stored minute at or before `close`, by a plain scan."""
    found = [m for m in minutes if T0 + m * MIN <= close]
    return max(found) if found else None


class Statements:
    """The SQL statements an engine runs while counted."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.seen: list[str] = []
        self._engine = engine.sync_engine

    def _keep(self, *args: Any) -> None:
        self.seen.append(str(args[2]))

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._keep)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._keep)

    def naming(self, table: str) -> list[str]:
        return [s for s in self.seen if table in s]


# -- the service on the database ---------------------------------------------------------


def closes_of(minutes: Iterator[int] | Sequence[int]) -> np.ndarray:
    return np.array([T0 + m * MIN for m in minutes], dtype=np.int64)


@pytest.mark.parametrize(
    "minutes",
    [list(range(1, 61)), list(range(5, 61, 5)), [20, 30, 35, 45, 50, 55, 60], [24], [60]],
    ids=["1m", "5m", "5m-with-missing-candles", "before-the-first", "one"],
)
async def test_global_metrics_aligned_across_gaps(runtime: Runtime, minutes: list[int]) -> None:
    await store_market(runtime)
    closes = closes_of(minutes)
    async with runtime.engine.connect() as conn:
        reads = service.reads_on(conn)
        got = await service.cmc_series(reads, ["btc_dominance", "active_cryptocurrencies"], closes)
        # bounded by the closes: one row per step between them, not every stored minute
        step = math.gcd(*(b - a for a, b in pairwise(minutes))) or 1
        read = await reads.cmc.global_as_of(int(closes[0]), int(closes[-1]), step * MIN)
    assert len(read) <= (minutes[-1] - minutes[0]) // step + 1
    for k, close in enumerate(closes.tolist()):
        m = carried(GLOBAL_MINUTES, close)
        value, count = got["btc_dominance"].values[k], got["active_cryptocurrencies"].values[k]
        if m is None:  # before the first row
            assert math.isnan(value) and math.isnan(count)
            assert got["btc_dominance"].as_of[k] == service.NO_VALUE
        else:
            assert (value, count) == (dominance(m), 9000 + m)
            assert got["btc_dominance"].as_of[k] == T0 + m * MIN


async def test_listing_fields_aligned_for_the_coin_only(runtime: Runtime) -> None:
    await store_market(runtime)
    writer = runtime.writer
    assert writer is not None
    await writer.write(TradeBatch("coinmarketcap", "SOLUSD", (Trade(1, T0, 20.0, 0.0),),
                                  base="SOL", quote="USD"))  # fmt: skip
    closes = closes_of(range(5, 61, 5))
    async with runtime.engine.connect() as conn:
        reads = service.reads_on(conn)
        (solusd,) = [i for i in await service.instruments(reads) if i.exchange == "coinmarketcap"]
        got = await service.cmc_series(reads, ["cmc_rank", "market_cap"], closes, instrument=solusd)
    for k, close in enumerate(closes.tolist()):
        m = carried(LISTING_MINUTES, close)
        expected = (math.nan, math.nan) if m is None else (rank(m), market_cap(m))
        actual = (got["cmc_rank"].values[k], got["market_cap"].values[k])
        assert np.array_equal(actual, expected, equal_nan=True), close


# -- the scanner ---------------------------------------------------------------------------


def expected_closes(values: Sequence[int], closes: Sequence[int], test: Any) -> list[int]:
    """Closes within the scanned minutes whose carried row passes `test`."""
    out = []
    for close in closes:
        m = carried(values, close)
        if m is not None and T0 + FIRST * MIN <= close <= T0 + LAST * MIN and test(m):
            out.append(close)
    return out


async def test_scanner_alerts_on_dominance_end_to_end(runtime: Runtime) -> None:
    engine = runtime.engine
    writer = runtime.writer
    assert writer is not None
    await writer.write(TradeBatch("binance", "BTCUSDT", tuple(replay())))
    await store_market(runtime)
    user = await add_user(engine)
    plain = await add_strategy(engine, user, "plain", "close > 104")

    # candle-only conditions do not read CoinMarketCap's history
    with Statements(engine) as sql:
        await step(scanner(engine), FIRST, FIRST + 2)
    assert sql.naming("cmc_") == [] and sql.naming("candles")  # candles were read

    one = await add_strategy(engine, user, "dominant", "btc_dominance > 55")
    five = await add_strategy(engine, user, "dominant 5m", "btc_dominance > 55", interval="5m")
    with Statements(engine) as sql:
        results = await step(scanner(engine), FIRST + 3, LAST)
    assert sql.naming("cmc_global_metrics") and not sql.naming("cmc_listings")
    assert all(r.failed == 0 for r in results)

    rows = await alerts(engine)
    series = one_minute_series()
    high = lambda m: dominance(m) > 55  # noqa: E731
    # a strategy seen first at a scan decides only the candle closing then
    want_one = expected_closes(GLOBAL_MINUTES, series.closes, high)
    want_one = [c for c in want_one if c >= T0 + (FIRST + 3) * MIN]
    assert want_one and any(36 <= (c - T0) // MIN <= 45 for c in want_one)  # across the gap
    assert [r.candle_close for r in rows if r.strategy_id == one] == want_one
    fives = [T0 + m * MIN for m in range(25, LAST + 1, 5)]
    assert [r.candle_close for r in rows if r.strategy_id == five] == expected_closes(
        GLOBAL_MINUTES, fives, high
    )
    assert starts_of(rows, plain)  # the candle-only strategy kept alerting

    # each alert shows the value and how old it was at the close: carried across the gap
    for r in rows:
        if r.strategy_id == plain:
            continue
        m = carried(GLOBAL_MINUTES, r.candle_close)
        assert m is not None
        age = (r.candle_close - (T0 + m * MIN)) / 1_000_000
        assert r.values == {"btc_dominance": dominance(m), "btc_dominance.age_s": age}
    ages = {r.values["btc_dominance.age_s"] for r in rows if r.strategy_id == one}
    assert 0.0 in ages and max(ages) >= 5 * 60  # fresh values, and values carried minutes


async def test_scanner_alerts_on_listing_fields_of_a_coinmarketcap_instrument(
    runtime: Runtime,
) -> None:
    engine = runtime.engine
    writer = runtime.writer
    assert writer is not None
    trades = tuple(Trade(m, T0 + m * MIN + 5_000_000, 20.0 + m, 0.0) for m in range(60))
    await writer.write(TradeBatch("coinmarketcap", "SOLUSD", trades, base="SOL", quote="USD"))
    await store_market(runtime)
    user = await add_user(engine)
    condition = "cmc_rank <= 5 and market_cap > 100000000000"
    sid = await add_strategy(engine, user, "sol", condition, instruments=["coinmarketcap:SOLUSD"])
    results = await step(scanner(engine), FIRST, LAST)
    assert all(r.failed == 0 for r in results)

    closes = [T0 + (m + 1) * MIN for m in range(60)]
    want = expected_closes(LISTING_MINUTES, closes, lambda m: rank(m) <= 5 and market_cap(m) > 1e11)
    rows = [r for r in await alerts(engine) if r.strategy_id == sid]
    assert want and [r.candle_close for r in rows] == want
    m = carried(LISTING_MINUTES, rows[0].candle_close)
    assert m is not None
    age = (rows[0].candle_close - (T0 + m * MIN)) / 1_000_000
    assert rows[0].values == {
        "cmc_rank": rank(m), "cmc_rank.age_s": age, "market_cap": market_cap(m),
        "market_cap.age_s": age,
    }  # fmt: skip


# -- the API ---------------------------------------------------------------------------------


async def test_the_api_checks_market_names_and_where_listing_fields_apply(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    writer = runtime.writer
    assert writer is not None
    trade = (Trade(1, T0, 20.0, 1.0),)
    await writer.write(TradeBatch("coinmarketcap", "SOLUSD", trade, base="SOL", quote="USD"))
    await writer.write(TradeBatch("binance", "BTCUSDT", trade, base="BTC", quote="USDT"))
    alice = await signup(client, "alice@example.com")
    h = alice.headers

    r = await client.post(
        "/v1/strategies/check", headers=h, json={"condition": "btc_dominance > 55"}
    )
    assert r.status_code == 200 and r.json()["series"] == ["btc_dominance"]
    for bad in ("btc_dominanc > 55", "cmc_rank() < 5", "market_cap > 1e9"):
        r = await client.post("/v1/strategies/check", headers=h, json={"condition": bad})
        assert (r.status_code, r.json()["field"]) == (422, "condition"), bad
        assert "btc_dominance" in r.json()["detail"] or bad != "btc_dominanc > 55"

    base = {"name": "s", "interval": "1h", "cooldown_s": 3600}
    r = await client.post("/v1/strategies", headers=h, json={
        **base, "instruments": ["binance:BTCUSDT"], "condition": "btc_dominanc > 55"})  # fmt: skip
    assert (r.status_code, r.json()["field"]) == (422, "condition")
    r = await client.post("/v1/strategies", headers=h, json={
        **base, "instruments": ["BTCUSDT"], "condition": "market_cap > 5"})  # fmt: skip
    assert (r.status_code, r.json()["field"]) == (422, "condition")
    assert "coinmarketcap" in r.json()["detail"] and "binance:BTCUSDT" in r.json()["detail"]
    r = await client.post("/v1/strategies", headers=h, json={
        **base, "instruments": ["BTCUSDT"], "condition": "btc_dominance > 55"})  # fmt: skip
    assert r.status_code == 201, r.text
    r = await client.post("/v1/strategies", headers=h, json={**base, "name": "sol",
        "instruments": ["coinmarketcap:SOLUSD"], "condition": "cmc_rank <= 5"})  # fmt: skip
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    r = await client.patch(f"/v1/strategies/{sid}", headers=h,
                           json={"instruments": ["binance:BTCUSDT"]})  # fmt: skip
    assert (r.status_code, r.json()["field"]) == (422, "instruments")
    r = await client.get(f"/v1/strategies/{sid}", headers=h)
    assert r.json()["instruments"] == ["coinmarketcap:SOLUSD"]  # nothing stored
