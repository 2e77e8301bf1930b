"""Statistics from rollups: the mergeable moments, the tiling of a window and the
median's bounds, against a recomputation from the trades."""

from __future__ import annotations

import random
import statistics as pystats

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.marketdata.events import Trade
from tickhub.marketdata.service import median_bounds, tiles
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE, aggregate_trades, merge, rollup

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z


def trades_of(rnd: random.Random, n: int, span: int) -> list[Trade]:
    times = sorted(T0 + rnd.randrange(span) for _ in range(n))
    return [Trade(i, ts, round(rnd.uniform(100, 200), 2), 1.0, None) for i, ts in enumerate(times)]


@given(st.integers(0, 10_000), st.sampled_from([MINUTE, HOUR, DAY]))
@settings(max_examples=40, deadline=None)
def test_merged_moments_equal_the_trades(seed: int, resolution: int) -> None:
    rnd = random.Random(seed)
    trades = trades_of(rnd, rnd.randrange(1, 400), 3 * DAY)
    parts = list(rollup(aggregate_trades(trades, MINUTE).values(), resolution).values())
    rnd.shuffle(parts)
    whole = parts[0]
    for c in parts[1:]:
        whole = merge(whole, c)
    prices = [t.price for t in trades]
    assert whole.trade_count == len(prices)
    assert whole.mean == pytest.approx(pystats.fmean(prices), rel=1e-12)
    assert (whole.price_m2 / len(prices)) ** 0.5 == pytest.approx(
        pystats.pstdev(prices), rel=1e-9, abs=1e-9
    )


@given(st.integers(0, 40 * 24 * 60), st.integers(0, 40 * 24 * 60))
@settings(max_examples=200, deadline=None)
def test_tiles_cover_the_window_once_with_aligned_rollups(a: int, b: int) -> None:
    start, end = T0 + min(a, b) * MINUTE, T0 + max(a, b) * MINUTE
    for coarsest in (MINUTE, HOUR, DAY):
        spans = tiles(start, end, coarsest)
        cursor = start
        for res, lo, hi in spans:
            assert lo == cursor and hi > lo and res <= coarsest
            assert lo % res == 0 and hi % res == 0
            cursor = hi
        assert cursor == end
        # at most two partial runs of each finer resolution around the coarsest
        assert sum(1 for res, _, _ in spans if res == MINUTE) <= 2 or coarsest == MINUTE


@given(st.integers(0, 10_000))
@settings(max_examples=60, deadline=None)
def test_median_lies_within_the_bounds(seed: int) -> None:
    rnd = random.Random(seed)
    trades = trades_of(rnd, rnd.randrange(1, 500), DAY)
    parts = list(aggregate_trades(trades, rnd.choice([MINUTE, HOUR])).values())
    lo, hi = median_bounds(parts)
    true = pystats.median([t.price for t in trades])
    assert lo <= true <= hi


def test_bounds_are_exact_when_every_candle_holds_one_price() -> None:
    trades = [Trade(i, T0 + i * MINUTE, float(p), 1.0, None) for i, p in enumerate([5, 1, 4, 2])]
    parts = list(aggregate_trades(trades, MINUTE).values())
    assert median_bounds(parts) == (3.0, 3.0)


def test_price_index_chooses_as_the_database_does() -> None:
    from tickhub.marketdata.service import InstrumentInfo, Latest, PriceIndex

    live = InstrumentInfo(1, "binance", "BTCUSDT", "BTC", "USDT", False)
    sim = InstrumentInfo(2, "sim", "BTCUSDT", "BTC", "USDT", True)
    quiet = InstrumentInfo(3, "binance", "ETHUSDT", "ETH", "USDT", False)
    index = PriceIndex.of(
        [(sim, Latest(sim, 7, T0, 2.0, 1.0)), (live, Latest(live, 9, T0, 1.0, 1.0)), (quiet, None)]
    )
    found = index.find("btc-usdt")
    assert found is not None and found.instrument == live
    found = index.find("BTCUSDT", "SIM")
    assert found is not None and found.instrument == sim
    assert index.find("ETHUSDT") is None  # no trade yet: the database words the 404
    assert index.find("BTCUSDT", "kraken") is None
    assert [p.instrument.exchange for p in index.all] == ["binance", "sim"]
