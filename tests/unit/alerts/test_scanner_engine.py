"""The scanner's shared evaluation of many conditions (a `language.Evaluation` at chosen
rows) equals `language.evaluate` (one condition at every row) at every row it decides,
and its alert values equal `language.explain`."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.alerts.test_language import boolean
from tickhub.alerts.language import ConditionError, Evaluation, evaluate, explain, parse
from tickhub.alerts.scanner import GroupRequest, Job, alert_values, evaluate_many, find_alerts

MIN = 60_000_000

TEMPLATES = [
    "rsi(14) < 30",
    "rsi(7) > 70 and close > sma(close, 20)",
    "close > sma(close, 50) * 1.01",
    "crosses_above(ema(close, 9), ema(close, 21))",
    "crosses_below(close, bbands_lower(close, 20, 2))",
    "macd_hist(12, 26, 9) > 0 and not (volume < sma(volume, 10))",
    "change(close, 5) <= -1.5 or roc(close, 3) > 2",
    "atr(14) / close * 100 > 0.8",
    "highest(high, 20) - lowest(low, 20) > 3 * stddev(close, 20)",
    "vwap > close and trade_count >= 3",
    "-(close - open) > 0.5",
    "1 > 0",
    "close / (open - open) > 1",  # division by zero: undefined, never true
    "wma(close, 10) != sma(close, 10)",
    "rsi(sma(close, 5), 14) >= 50 or crosses_above(close, 100)",
]


def market(length: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, length))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.6, length))
    volume = rng.uniform(0.5, 5, length)
    vwap = (open_ + close) / 2
    vwap[rng.random(length) < 0.1] = np.nan  # candles without volume have no VWAP
    return {
        "open": open_,
        "high": np.maximum(open_, close) + spread,
        "low": np.minimum(open_, close) - spread,
        "close": close,
        "volume": volume,
        "vwap": vwap,
        "trade_count": rng.integers(1, 10, length).astype(np.float64),
    }


def same_values(ours: dict[str, float | None], oracle: dict[str, float]) -> bool:
    if list(ours) != list(oracle):
        return False
    for key, value in oracle.items():
        mine = ours[key]
        if math.isfinite(value):
            if mine != value:
                return False
        elif mine is not None:
            return False
    return True


def test_templates_equal_the_single_evaluator_at_every_row() -> None:
    data = market(300)
    conditions = [parse(t) for t in TEMPLATES]
    rows = np.arange(300)
    result = evaluate_many(conditions, data, rows)
    assert result.shape == (len(TEMPLATES), 300)
    for k, cond in enumerate(conditions):
        np.testing.assert_array_equal(result[k], evaluate(cond, data), err_msg=cond.source)
    assert result.any(axis=1).sum() >= len(TEMPLATES) - 2  # most templates hold somewhere


def test_some_rows_only_including_the_first() -> None:
    data = market(120, seed=5)
    conditions = [parse(t) for t in TEMPLATES]
    rows = np.array([0, 1, 59, 118, 119])
    result = evaluate_many(conditions, data, rows)
    for k, cond in enumerate(conditions):
        np.testing.assert_array_equal(result[k], evaluate(cond, data)[rows], err_msg=cond.source)


def test_equal_sub_expressions_of_different_conditions_are_computed_once() -> None:
    shared = Evaluation(market(100), [99])
    a, b = parse("rsi(14) < 30"), parse("rsi(14) > 70 or sma(close, 20) < close")
    shared.decide(a)
    first = shared.number(parse("rsi(14) > 1").root.left)  # type: ignore[union-attr]
    shared.decide(b)
    assert shared.number(parse("rsi(14) > 1").root.left) is first  # type: ignore[union-attr]


def test_values_equal_explain() -> None:
    data = market(200, seed=3)
    shared = Evaluation(data, np.arange(200))
    for text in TEMPLATES:
        cond = parse(text)
        for index in (0, 30, 199):
            assert same_values(alert_values(shared, cond, index), explain(cond, data, index)), text


def test_rows_out_of_range_are_refused() -> None:
    with pytest.raises(IndexError):
        Evaluation(market(10), [10])


def test_empty_rows_and_empty_history() -> None:
    assert evaluate_many([parse("close > 1")], market(10), []).shape == (1, 0)
    empty = {k: v[:0] for k, v in market(5).items()}
    assert evaluate_many([parse("close > 1")], empty, []).shape == (1, 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(boolean(1), min_size=1, max_size=6), st.integers(1, 90), st.data())
def test_fuzz_many_conditions_equal_the_oracle(
    texts: list[str], length: int, data: st.DataObject
) -> None:
    conditions = []
    for text in texts:
        try:
            conditions.append(parse(text))
        except ConditionError:
            continue
    if not conditions:
        return
    candles = market(length, seed=length)
    rows = np.array(
        sorted(data.draw(st.sets(st.integers(0, length - 1), min_size=1, max_size=5))),
        dtype=np.intp,
    )
    result = evaluate_many(conditions, candles, rows)
    shared = Evaluation(candles, rows)
    for k, cond in enumerate(conditions):
        np.testing.assert_array_equal(result[k], evaluate(cond, candles)[rows], err_msg=cond.source)
        index = int(rows[-1])
        assert same_values(alert_values(shared, cond, index), explain(cond, candles, index))


# -- alerts of a group: first rows and cooldowns ---------------------------------------------


def request(data: dict[str, np.ndarray], jobs: list[Job]) -> GroupRequest:
    n = len(data["close"])
    closes = (np.arange(n, dtype=np.int64) + 1) * MIN
    return GroupRequest(data, closes, tuple(jobs))


def expected(text: str, data: dict[str, np.ndarray], first: int, cooldown: int,
             last: int | None) -> list[int]:  # fmt: skip
    """By hand from the oracle: true rows from `first`, each at least `cooldown` after the
    previous alert."""
    out: list[int] = []
    for row in np.flatnonzero(evaluate(parse(text), data)).tolist():
        close = (row + 1) * MIN
        if row < first or (last is not None and close - last < cooldown):
            continue
        out.append(row)
        last = close
    return out


def test_find_alerts_respects_first_rows_and_cooldowns() -> None:
    data = market(240, seed=11)
    jobs = [
        Job("rsi(14) < 45", 0, 0, None),
        Job("rsi(14) < 45", 100, 0, None),
        Job("rsi(14) < 45", 100, 30 * MIN, None),
        Job("rsi(14) < 45", 100, 30 * MIN, 95 * MIN),  # an alert at close 95 minutes
        Job("close > sma(close, 20)", 239, 0, None),
        Job("close > sma(close, 20)", 240, 0, None),  # nothing left to decide
        Job("1 > 2", 0, 0, None),
    ]
    hits = find_alerts(request(data, jobs))
    for k, job in enumerate(jobs):
        rows = [h.row for h in hits if h.job == k]
        assert rows == expected(job.condition, data, job.first, job.cooldown_us, job.last_alert)
    assert [h.row for h in hits if h.job == 0]  # the condition does hold sometimes
    cooled = [h.row for h in hits if h.job == 2]
    assert all(b - a >= 30 for a, b in itertools.pairwise(cooled))
    for h in hits:
        cond = parse(jobs[h.job].condition)
        assert same_values(h.values, explain(cond, data, h.row))


def test_find_alerts_with_nothing_to_do() -> None:
    data = market(10)
    assert find_alerts(request(data, [])) == []
    assert find_alerts(request(data, [Job("close > 0", 10, 0, None)])) == []
    empty = {k: v[:0] for k, v in data.items()}
    assert find_alerts(request(empty, [Job("close > 0", 0, 0, None)])) == []
