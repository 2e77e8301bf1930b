"""Windows: a candle is decided over the same candles however many are decided at once,
and the backtest's forward returns and holes."""

from __future__ import annotations

import numpy as np

from tickhub.alerts.backtest import _run
from tickhub.alerts.scanner import GroupRequest, Job, find_alerts, window_from, window_length

MIN = 60_000_000
T0 = 1_700_000_040 * 1_000_000 // MIN * MIN


def candles(n: int, skip: set[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows = [i for i in range(n) if i not in skip]
    x = np.array(rows, dtype=np.float64)
    close = 100 + 3 * np.sin(x / 5.0) + np.sin(x / 1.7)
    one = np.ones_like(close)
    series = {"open": close - 0.2, "high": close + 0.5, "low": close - 0.5, "close": close,
              "volume": one, "vwap": close, "trade_count": one}  # fmt: skip
    starts = T0 + np.array(rows, dtype=np.int64) * MIN
    return starts, series


CONDITIONS = (
    "rsi(9) < 50",
    "crosses_above(ema(close, 4), ema(close, 9))",
    "close > ema(close, 30)",
)


def test_one_request_decides_as_one_close_at_a_time() -> None:
    starts, series = candles(400, {50, 51, 222})
    closes = starts + MIN
    length = window_length(10, 25)
    assert length == 25
    jobs = tuple(
        Job(c, 30, 0, None, window_length(30 if "30" in c else 10, 25)) for c in CONDITIONS
    )
    whole = find_alerts(GroupRequest(series, closes, jobs, MIN))
    one_by_one: list[tuple[int, int, dict[str, float | None]]] = []
    for row in range(30, len(closes)):
        lo = int(
            np.searchsorted(starts, min(window_from(int(starts[row]), MIN, j.window) for j in jobs))
        )
        part = {k: v[lo : row + 1] for k, v in series.items()}
        request = GroupRequest(
            part,
            closes[lo : row + 1],
            tuple(Job(j.condition, row - lo, 0, None, j.window) for j in jobs),
            MIN,
        )
        one_by_one.extend((h.job, h.row + lo, h.values) for h in find_alerts(request))
    assert [(h.job, h.row, h.values) for h in whole] == sorted(one_by_one, key=lambda t: t[:2])
    assert len(whole) > 50


def test_window_differs_from_the_whole_history() -> None:
    """Without windows an ema over the whole history gives other values: the windows are
    what makes the test above meaningful."""
    starts, series = candles(400, set())
    closes = starts + MIN
    windowed = find_alerts(
        GroupRequest(series, closes, (Job("close > ema(close, 30)", 300, 0, None, 25),), MIN)
    )
    whole = find_alerts(
        GroupRequest(series, closes, (Job("close > ema(close, 30)", 300, 0, None),), MIN)
    )
    assert [h.values for h in windowed] != [h.values for h in whole]


def test_forward_returns_and_holes() -> None:
    starts = T0 + np.array([0, 1, 2, 4, 5], dtype=np.int64) * MIN
    price = np.array([100.0, 101.0, 99.0, 110.0, 120.0])
    got = _run.forward_returns(starts, price, 1, MIN, (1, 2, 3, 4, 9))
    assert got == {"1": 99 / 101 - 1, "2": None, "3": 110 / 101 - 1, "4": 120 / 101 - 1, "9": None}
    assert _run.holes([(10, 20), (30, 40)], 0, 50) == [(0, 10), (21, 30), (41, 50)]
    assert _run.holes([(0, 60)], 5, 50) == []
    stats = _run.summary(
        [_run.Found(0, 0, {}, 1.0, {"1": 0.1}), _run.Found(0, 0, {}, 1.0, {"1": -0.3}),
         _run.Found(0, 0, {}, 1.0, {"1": None})], (1, 2),
    )  # fmt: skip
    assert stats["1"] == _run.Stats(2, (0.1 - 0.3) / 2, (0.1 - 0.3) / 2, 0.5)
    assert stats["2"] == _run.Stats(0, None, None, None)
