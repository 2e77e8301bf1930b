"""Candle columns (`store.columns`) against the per-row arithmetic of `store.candles`:
the same folds, the same merged moments, the same median bounds; and the seed 004
summary over an array against the `statistics` one."""

from __future__ import annotations

import random
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.marketdata.events import Trade
from tickhub.marketdata.service import median_bounds, price_summary, summarize
from tickhub.marketdata.store.candles import (
    DAY,
    HOUR,
    MINUTE,
    Candle,
    aggregate_trades,
    boundaries,
    fold,
    merge,
    parse_interval,
)
from tickhub.marketdata.store.columns import EMPTY, CandleTable

T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z


def rollups(seed: int, n: int, span: int) -> list[Candle]:
    rnd = random.Random(seed)
    times = sorted(T0 + rnd.randrange(span) for _ in range(n))
    trades = [
        Trade(i, ts, round(rnd.uniform(100, 200), 2), round(rnd.uniform(0.01, 2), 3), None)
        for i, ts in enumerate(times)
    ]
    found = aggregate_trades(trades, MINUTE)
    return [found[s] for s in sorted(found)]


@given(
    st.integers(0, 10_000),
    st.sampled_from(["1m", "3m", "7m", "1h", "4h", "1d"]),
    st.integers(0, 600),
    st.integers(1, 3000),
)
@settings(max_examples=60, deadline=None)
def test_fold_equals_the_row_fold(seed: int, interval: str, skip: int, minutes: int) -> None:
    source = rollups(seed, random.Random(seed).randrange(1, 2000), 2 * DAY)
    start = T0 + skip * MINUTE
    edges = boundaries(start, start + minutes * MINUTE, parse_interval(interval), None)
    expected = fold(source, edges)
    got = CandleTable.of_candles(source).fold(edges)
    assert got.start.tolist() == [c.start for c in expected]
    assert got.open.tolist() == [c.open for c in expected]
    assert got.close.tolist() == [c.close for c in expected]
    assert got.high.tolist() == [c.high for c in expected]
    assert got.low.tolist() == [c.low for c in expected]
    assert got.trade_count.tolist() == [c.trade_count for c in expected]
    assert got.volume.tolist() == pytest.approx([c.volume for c in expected], rel=1e-12)
    assert got.quote_volume.tolist() == pytest.approx([c.quote_volume for c in expected], rel=1e-12)


@given(st.integers(0, 10_000), st.sampled_from([MINUTE, HOUR, DAY]))
@settings(max_examples=40, deadline=None)
def test_merged_and_median_bounds_equal_the_row_merge(seed: int, span: int) -> None:
    source = rollups(seed, random.Random(seed).randrange(1, 600), span)
    expected = reduce(merge, source)
    table = CandleTable.of_candles(source)
    got = table.merged()
    assert got is not None
    assert (got.open, got.close, got.high, got.low, got.trade_count) == (
        expected.open,
        expected.close,
        expected.high,
        expected.low,
        expected.trade_count,
    )
    assert got.price_sum == pytest.approx(expected.price_sum, rel=1e-12)
    assert got.price_m2 == pytest.approx(expected.price_m2, rel=1e-9, abs=1e-9)
    assert got.volume == pytest.approx(expected.volume, rel=1e-12)
    assert table.median_bounds() == median_bounds(source)


def test_empty_tables() -> None:
    assert EMPTY.merged() is None
    assert len(EMPTY.fold([T0, T0 + MINUTE])) == 0
    assert len(CandleTable.concat([EMPTY, EMPTY])) == 0
    assert len(CandleTable.of_rows([])) == 0


@given(st.lists(st.floats(0.0001, 1e6, allow_nan=False), min_size=1, max_size=300))
@settings(max_examples=100, deadline=None)
def test_summarize_equals_the_seed_summary(prices: list[float]) -> None:
    got, expected = summarize(np.array(prices)), price_summary(prices)
    assert (got.count, got.mean, got.median, got.change_pct) == (
        expected.count,
        expected.mean,
        expected.median,
        expected.change_pct,
    )
    assert got.pstdev == pytest.approx(expected.pstdev, rel=1e-9, abs=1e-9)
