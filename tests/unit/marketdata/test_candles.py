from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.store.candles import (
    DAY,
    HOUR,
    MINUTE,
    Candle,
    IntervalError,
    aggregate_trades,
    best_rollup,
    boundaries,
    fold,
    merge,
    parse_interval,
    parse_window,
    rollup,
    trade_candle,
)

T0 = datetime_to_us(datetime(2026, 3, 28, tzinfo=UTC))


def naive(trades: list[Trade], resolution: int) -> dict[int, tuple[float, ...]]:
    """The obvious recomputation: group, sort by (time, id), read off the fields."""
    groups: dict[int, list[Trade]] = defaultdict(list)
    for t in trades:
        groups[t.ts // resolution * resolution].append(t)
    out: dict[int, tuple[float, ...]] = {}
    for start, ts in groups.items():
        ts.sort(key=lambda t: (t.ts, t.trade_id))
        out[start] = (
            ts[0].price,
            max(t.price for t in ts),
            min(t.price for t in ts),
            ts[-1].price,
            sum(t.qty for t in ts),
            sum(t.price * t.qty for t in ts),
            len(ts),
        )
    return out


def shape(c: Candle) -> tuple[float, ...]:
    return (c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trade_count)


def close_enough(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x == pytest.approx(y, rel=1e-9, abs=1e-12) for x, y in zip(a, b, strict=True))


trades_st = st.lists(
    st.builds(
        Trade,
        trade_id=st.integers(1, 10_000),
        ts=st.integers(T0, T0 + 3 * DAY),
        price=st.floats(0.0001, 1e6, allow_nan=False),
        qty=st.floats(0.0, 1e3, allow_nan=False),
    ),
    min_size=1,
    max_size=200,
    unique_by=lambda t: t.trade_id,
)


@given(trades_st, st.sampled_from([MINUTE, HOUR, DAY]))
@settings(max_examples=200, deadline=None)
def test_aggregate_matches_naive_recomputation(trades: list[Trade], res: int) -> None:
    got = aggregate_trades(trades, res)
    want = naive(trades, res)
    assert set(got) == set(want)
    for start, c in got.items():
        assert close_enough(shape(c), want[start])


@given(trades_st, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_merging_batches_in_any_order_equals_one_pass(
    trades: list[Trade], rnd: random.Random
) -> None:
    shuffled = trades[:]
    rnd.shuffle(shuffled)
    cut = rnd.randint(0, len(shuffled))
    a = aggregate_trades(shuffled[:cut], MINUTE)
    b = aggregate_trades(shuffled[cut:], MINUTE)
    combined = dict(a)
    for start, c in b.items():
        combined[start] = merge(combined[start], c) if start in combined else c
    want = naive(trades, MINUTE)
    assert {k: shape(v) for k, v in combined.items()}.keys() == want.keys()
    for start, c in combined.items():
        assert close_enough(shape(c), want[start])


@given(trades_st)
@settings(max_examples=100, deadline=None)
def test_rollup_of_minutes_equals_direct_hours_and_days(trades: list[Trade]) -> None:
    minutes = aggregate_trades(trades, MINUTE)
    hours = rollup(minutes.values(), HOUR)
    days = rollup(hours.values(), DAY)
    for res, got in ((HOUR, hours), (DAY, days)):
        want = naive(trades, res)
        assert set(got) == set(want)
        for start, c in got.items():
            assert close_enough(shape(c), want[start])


@given(trades_st, st.sampled_from(["1s", "7m", "90s", "4h"]))
@settings(max_examples=100, deadline=None)
def test_fold_over_boundaries_equals_naive(trades: list[Trade], text: str) -> None:
    iv = parse_interval(text)
    start, end = T0, T0 + 3 * DAY + 1
    edges = boundaries(start, end, iv, None)
    res = best_rollup(edges)
    source = (
        list(aggregate_trades(trades, res).values()) if res else [trade_candle(t) for t in trades]
    )
    got = {c.start: shape(c) for c in fold(source, edges)}
    want = naive(trades, iv.fixed_us or 0)
    assert got.keys() == want.keys()
    for k in got:
        assert close_enough(got[k], want[k])


def test_late_trade_takes_over_open_and_close() -> None:
    c = aggregate_trades([Trade(5, T0 + 10, 100.0, 1.0), Trade(6, T0 + 20, 101.0, 1.0)], MINUTE)
    late = aggregate_trades([Trade(4, T0 + 5, 99.0, 1.0)], MINUTE)
    m = merge(c[T0], late[T0])
    assert (m.open, m.close, m.low, m.trade_count) == (99.0, 101.0, 99.0, 3)


@pytest.mark.parametrize(
    ("text", "count", "unit"),
    [
        ("1s", 1, "s"),
        ("1m", 1, "m"),
        ("7m", 7, "m"),
        ("4h", 4, "h"),
        ("1d", 1, "d"),
        ("1w", 1, "w"),
        ("1M", 1, "M"),
        ("3M", 3, "M"),
    ],
)
def test_parse_interval(text: str, count: int, unit: str) -> None:
    iv = parse_interval(text)
    assert (iv.count, iv.unit) == (count, unit)


@pytest.mark.parametrize("text", ["", "0m", "m", "1x", "1.5h", "-1m", "1 m", "400d", "13M", "1mm"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(IntervalError):
        parse_interval(text)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("120 minute", timedelta(minutes=120)),
        ("2880 minutes", timedelta(minutes=2880)),
        ("2 hours", timedelta(hours=2)),
        ("1 day 2 hours", timedelta(days=1, hours=2)),
        ("30 seconds", timedelta(seconds=30)),
        ("1 week", timedelta(weeks=1)),
        ("90m", timedelta(minutes=90)),
    ],
)
def test_parse_window(text: str, delta: timedelta) -> None:
    assert parse_window(text) == delta


@pytest.mark.parametrize(
    "text", ["", "minute", "120", "120 lightyears", "1 day; drop table", "0 minute"]
)
def test_parse_window_rejects(text: str) -> None:
    with pytest.raises(IntervalError):
        parse_window(text)


def test_day_boundaries_follow_the_time_zone_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = datetime_to_us(datetime(2026, 3, 28, 12, tzinfo=UTC))
    end = datetime_to_us(datetime(2026, 3, 31, tzinfo=UTC))
    edges = boundaries(start, end, parse_interval("1d"), paris)
    local = [datetime.fromtimestamp(e / 1e6, tz=paris) for e in edges]
    assert all((d.hour, d.minute) == (0, 0) for d in local)
    lengths = {b - a for a, b in pairwise(edges)}
    assert 23 * HOUR in lengths  # the night the clocks go forward (2026-03-29)
    assert best_rollup(edges) == HOUR


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    start = datetime_to_us(datetime(2026, 11, 19, tzinfo=UTC))  # a Thursday
    end = datetime_to_us(datetime(2027, 2, 1, tzinfo=UTC))
    weeks = boundaries(start, end, parse_interval("1w"), None)
    assert all(datetime.fromtimestamp(e / 1e6, tz=UTC).weekday() == 0 for e in weeks)
    months = boundaries(start, end, parse_interval("1M"), None)
    assert [datetime.fromtimestamp(e / 1e6, tz=UTC).strftime("%Y-%m-%d") for e in months] == [
        "2026-11-01",
        "2026-12-01",
        "2027-01-01",
        "2027-02-01",
    ]
    assert best_rollup(months) == DAY
