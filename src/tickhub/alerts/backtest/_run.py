"""A backtest's arithmetic over one instrument's candles. Pure: no I/O.

The alerts come from the live scanner's own `find_alerts` (same windows, first rows and
cooldown); this module adds what happened next (forward returns), the summary, and where
the data has holes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tickhub.alerts.scanner import GroupRequest, Job, find_alerts

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Spec:
    """What is backtested on each instrument."""

    condition: str
    interval_us: int
    cooldown_us: int
    window: int  # candles (`scanner.window_length`)
    start: int  # decide candles starting at or after this, µs (aligned)
    end: int  # … and closing at or before this, µs (aligned)
    horizons: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Found:
    """One alert of the backtest."""

    candle_start: int
    candle_close: int
    values: dict[str, float | None]
    close: float
    forward_returns: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    mean: float | None
    median: float | None
    positive_share: float | None


def run(starts: Ints, series: Mapping[str, Floats], spec: Spec) -> list[Found]:
    """The alerts of `spec` on one instrument, whose candles (oldest first, each bucket
    with trades once) are `starts` and `series`. The candles must reach back to the first
    decided candle's window and may run past `spec.end` (for the forward returns)."""
    step = spec.interval_us
    closes = starts + step
    first = int(np.searchsorted(starts, spec.start, side="left"))
    top = int(np.searchsorted(closes, spec.end, side="right"))
    if first >= top:
        return []
    request = GroupRequest(
        {name: values[:top] for name, values in series.items()},
        closes[:top],
        (Job(spec.condition, first, spec.cooldown_us, None, spec.window),),
        step,
    )
    price = series["close"]
    out: list[Found] = []
    for hit in find_alerts(request):
        row = hit.row
        start = int(starts[row])
        out.append(
            Found(
                candle_start=start,
                candle_close=start + step,
                values=hit.values,
                close=float(price[row]),
                forward_returns=forward_returns(starts, price, row, step, spec.horizons),
            )
        )
    return out


def forward_returns(
    starts: Ints, price: Floats, row: int, step: int, horizons: Sequence[int]
) -> dict[str, float | None]:
    """For each horizon h (candles): close[t + h] / close[t] - 1, where t + h is the candle
    starting h intervals after candle `row`; None when that candle is not stored (past
    the end of the data, or a bucket without trades)."""
    base = float(price[row])
    start = int(starts[row])
    out: dict[str, float | None] = {}
    for h in horizons:
        target = start + h * step
        at = int(np.searchsorted(starts, target, side="left"))
        value: float | None = None
        if at < starts.shape[0] and int(starts[at]) == target and base != 0.0:
            ratio = float(price[at]) / base - 1.0
            value = ratio if math.isfinite(ratio) else None
        out[str(h)] = value
    return out


def summary(found: Sequence[Found], horizons: Sequence[int]) -> dict[str, Stats]:
    """Per horizon: how many alerts have a return, their mean, median and the share of
    them above zero (None when none has)."""
    out: dict[str, Stats] = {}
    for h in horizons:
        values = [r for f in found if (r := f.forward_returns.get(str(h))) is not None]
        if not values:
            out[str(h)] = Stats(0, None, None, None)
            continue
        out[str(h)] = Stats(
            len(values),
            statistics.fmean(values),
            statistics.median(values),
            sum(1 for v in values if v > 0) / len(values),
        )
    return out


def holes(covered: Sequence[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """The parts of [start, end) outside every covered span [first trade, last trade]:
    time the store has no complete record of."""
    out: list[tuple[int, int]] = []
    at = start
    for first, last in sorted(covered):
        if last < at:
            continue
        if first > at:
            out.append((at, min(first, end)))
        at = max(at, last + 1)
        if at >= end:
            break
    if at < end:
        out.append((at, end))
    return [(a, b) for a, b in out if a < b]
