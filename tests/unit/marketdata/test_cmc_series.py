"""CoinMarketCap's history aligned to candle closes (`service.cmc_series`): the last value
at or before each close carried forward across gaps, NaN before the first, and the time
of the row each value came from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fixtures.fake_marketdata import FakeMarketData
from tickhub.marketdata import service
from tickhub.marketdata.events import CmcGlobalMetrics, CmcListing

MIN = 60_000_000
T0 = 1_767_571_200_000_000  # 2026-01-05 00:00 UTC
NO = service.NO_VALUE


def metrics(minute: int, btc: float, total: float | None = 3e12) -> CmcGlobalMetrics:
    return CmcGlobalMetrics(T0 + minute * MIN, "USD", 9000 + minute, btc, 100 - btc, total,
                            1e11, T0 + minute * MIN)  # fmt: skip


def coin(cmc_id: int, symbol: str, rank: int, market_cap: float | None) -> CmcListing:
    return CmcListing(
        cmc_id, symbol, symbol.title(), symbol.lower(), rank, price=1.0, volume_24h=None,
        market_cap=market_cap, percent_change_1h=None, percent_change_24h=-2.5,
        percent_change_7d=None, circulating_supply=None, total_supply=None, max_supply=None,
        last_updated=T0,
    )  # fmt: skip


def closes(*minutes: int) -> np.ndarray:
    return np.array([T0 + m * MIN for m in minutes], dtype=np.int64)


def same(actual: np.ndarray, expected: list[float]) -> bool:
    return bool(np.array_equal(actual, np.array(expected, dtype=np.float64), equal_nan=True))


def test_align_carries_the_last_value_forward_and_is_nan_before_the_first() -> None:
    minutes = [T0 + 3 * MIN, T0 + 4 * MIN, T0 + 9 * MIN]
    rows: list[dict[str, float | None]] = [{"x": 1.0}, {"x": None}, {"x": 3.0}]
    got = service.align(minutes, rows, closes(2, 3, 4, 5, 8, 9, 12))["x"]
    # before minute 3: nothing; minute 4's row is null: missing, not the value before it
    assert same(got.values, [math.nan, 1.0, math.nan, math.nan, math.nan, 3.0, 3.0])
    assert got.as_of.tolist() == [NO, minutes[0], minutes[1], minutes[1], minutes[1],
                                  minutes[2], minutes[2]]  # fmt: skip
    assert service.align([], [], closes(1, 2)) == {}


async def test_global_metrics_across_a_gap() -> None:
    md = FakeMarketData()
    for minute, btc in [(2, 50.0), (3, 51.0), (4, 52.0), (10, 60.0), (11, 61.0)]:
        md.cmc.add_global(metrics(minute, btc))  # nothing stored for minutes 5 to 9
    at = closes(1, 2, 3, 5, 7, 9, 10, 12)
    got = await service.cmc_series(md, ["btc_dominance", "active_cryptocurrencies"], at)
    assert same(got["btc_dominance"].values, [math.nan, 50, 51, 52, 52, 52, 60, 61])
    assert same(got["active_cryptocurrencies"].values,
                [math.nan, 9002, 9003, 9004, 9004, 9004, 9010, 9011])  # fmt: skip
    assert got["btc_dominance"].as_of.tolist() == [
        NO, *(T0 + m * MIN for m in (2, 3, 4, 4, 4, 10, 11))
    ]  # fmt: skip


async def test_uneven_closes_and_a_coarse_step_pick_the_latest_row_of_each_close() -> None:
    md = FakeMarketData()
    for minute in range(0, 40):
        md.cmc.add_global(metrics(minute, float(minute)))
    at = closes(5, 10, 25, 30)  # 5-minute candles, the one closing at 15 and 20 missing
    got = await service.cmc_series(md, ["btc_dominance"], at)
    assert same(got["btc_dominance"].values, [5, 10, 25, 30])


async def test_listing_fields_of_a_coinmarketcap_instrument() -> None:
    md = FakeMarketData()
    sol = md.reads.add_instrument("coinmarketcap", "SOLUSD", "SOL", "USD")
    btc = md.reads.add_instrument("binance", "BTCUSDT", "BTC", "USDT")
    md.cmc.add_listings(T0 + 2 * MIN, [coin(5426, "SOL", 5, 9e10), coin(1, "BTC", 1, 2e12)])
    md.cmc.add_listings(T0 + 6 * MIN, [coin(5426, "SOL", 4, None), coin(1, "BTC", 1, 2e12)])
    names = ["market_cap", "percent_change_24h", "cmc_rank"]
    got = await service.cmc_series(md, names, closes(1, 2, 5, 6, 8), instrument=sol)
    assert same(got["cmc_rank"].values, [math.nan, 5, 5, 4, 4])
    assert same(got["market_cap"].values, [math.nan, 9e10, 9e10, math.nan, math.nan])
    assert same(got["percent_change_24h"].values, [math.nan, -2.5, -2.5, -2.5, -2.5])
    # a coin's fields are only those of CoinMarketCap quotes: elsewhere, missing
    other = await service.cmc_series(md, names, closes(2, 6), instrument=btc)
    assert all(np.isnan(s.values).all() and (s.as_of == NO).all() for s in other.values())


async def test_nothing_stored_and_unknown_names() -> None:
    md = FakeMarketData()
    got = await service.cmc_series(md, ["eth_dominance"], closes(1, 2))
    assert np.isnan(got["eth_dominance"].values).all()
    with pytest.raises(service.InvalidParameter) as err:
        await service.cmc_series(md, ["btc_dominance", "close"], closes(1))
    assert (err.value.field, "'close'" in err.value.message) == ("series", True)
