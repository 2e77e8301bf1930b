"""Window statistics from the rollups: a bounded read whatever the window.

The whole minutes of a window come from the stored rollups (1 d, 1 h and 1 m candles,
the coarsest that fit), its partial minutes at either end from the trades. Count, open,
close, high, low, volume, VWAP, mean and the population standard deviation are exact
(the rollups carry the sum of the prices and their M2). The median is exact while the
window holds at most `EXACT_MEDIAN_TRADES` trades; past that it is bounded by the
rollups' lows and highs (see `median_bounds`), and the answer gives the midpoint with
its largest possible error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from tickhub.marketdata.service._core import InvalidParameter, rollups
from tickhub.marketdata.service._ports import MarketReads, RollupSource
from tickhub.marketdata.store.candles import (
    DAY,
    HOUR,
    MINUTE,
    ROLLUPS,
    Candle,
)
from tickhub.marketdata.store.columns import EMPTY as EMPTY_TABLE
from tickhub.marketdata.store.columns import CandleTable
from tickhub.marketdata.store.repository import InstrumentInfo

EXACT_MEDIAN_TRADES = 10_000
"""Up to this many trades in a window, its median is computed from the trades."""
MAX_EDGE_TRADES = 20_000
"""The most trades read for each partial minute at the two ends of a window (when each
trade was read as an object, two edges of 100,000 took 2 s of a core and 56 MB,
bench/bounds.py; they are read as bare rows now, the bound kept)."""
FINE_WINDOW = DAY
"""Windows up to a day are read from 1 m rollups (≤ 1,440 rows), so the median is tight."""
MEDIUM_WINDOW = 62 * DAY
"""Windows up to 62 days from 1 h rollups (≤ 1,488 rows); longer ones from 1 d rollups."""


@dataclass(frozen=True, slots=True)
class Statistics:
    count: int
    open: float | None
    close: float | None
    high: float | None
    low: float | None
    mean: float | None
    median: float | None
    std: float | None
    vwap: float | None
    volume: float
    quote_volume: float
    change_pct: float | None
    median_error: float | None = None
    """The largest possible distance of `median` from the exact median (0 when exact)."""


EMPTY = Statistics(0, None, None, None, None, None, None, None, None, 0.0, 0.0, None)


def tiles(start: int, end: int, coarsest: int) -> list[tuple[int, int, int]]:
    """[start, end) (whole minutes) cut into (resolution, lo, hi) spans, each of the
    coarsest rollup up to `coarsest` whose buckets tile it: minutes at the ends, then
    hours, then days in the middle."""
    levels = [r for r in ROLLUPS if r <= coarsest]
    head: list[tuple[int, int, int]] = []
    tail: list[tuple[int, int, int]] = []
    lo, hi = start, end
    for res, nxt in pairwise(levels):
        up = min(hi, lo + (-lo) % nxt)
        down = max(up, hi - hi % nxt)
        if up > lo:
            head.append((res, lo, up))
        if hi > down:
            tail.append((res, down, hi))
        lo, hi = up, down
    if hi > lo:
        head.append((levels[-1], lo, hi))
    return head + tail[::-1]


def median_bounds(parts: Sequence[Candle]) -> tuple[float, float]:
    """Bounds of the median of the trades behind `parts`: every trade of a candle lies in
    [low, high], so the k-th smallest price lies between the k-th smallest of the lows and
    the k-th smallest of the highs (each candle counted `trade_count` times)."""
    n = sum(c.trade_count for c in parts)
    ranks = ((n - 1) // 2, n // 2)

    def at(values: list[tuple[float, int]]) -> float:
        values.sort()
        found: list[float] = []
        seen = 0
        for value, count in values:
            seen += count
            while len(found) < 2 and seen > ranks[len(found)]:
                found.append(value)
            if len(found) == 2:
                break
        return (found[0] + found[1]) / 2

    return (
        at([(c.low, c.trade_count) for c in parts]),
        at([(c.high, c.trade_count) for c in parts]),
    )


def _coarsest(span: int) -> int:
    if span <= FINE_WINDOW:
        return MINUTE
    return HOUR if span <= MEDIUM_WINDOW else DAY


async def _edge_trades(
    tx: MarketReads, inst: InstrumentInfo, lo: int, hi: int, field: str
) -> CandleTable:
    if hi <= lo:
        return EMPTY_TABLE
    found = await tx.reads.trade_prices(inst.id, lo, hi - 1, limit=MAX_EDGE_TRADES + 1)
    if len(found) > MAX_EDGE_TRADES:
        raise InvalidParameter(
            f"more than {MAX_EDGE_TRADES} trades in the partial minute at {field}: "
            f"put {field} on a whole minute",
            field=field,
        )
    return CandleTable.of_trades(found)


async def window_statistics(
    tx: MarketReads,
    inst: InstrumentInfo,
    start: int,
    end: int,
    memory: RollupSource | None = None,
) -> Statistics:
    """Statistics of the trades with start <= time < end, read from the rollups (at most
    ~1,500 rollup rows for windows up to a year, plus the trades of two partial minutes,
    plus `EXACT_MEDIAN_TRADES` prices for a small window's median), merged as columns.
    `memory` holds rollups read before."""
    if start > end:
        raise InvalidParameter("start must not be after end", field="start")
    if start == end:
        return EMPTY
    first_minute = min(end, start + (-start) % MINUTE)
    last_minute = max(first_minute, end - end % MINUTE)
    tables = [await _edge_trades(tx, inst, start, first_minute, "start")]
    for res, lo, hi in tiles(first_minute, last_minute, _coarsest(end - start)):
        tables.append(await rollups(tx, inst, res, lo, hi, memory))
    tables.append(await _edge_trades(tx, inst, last_minute, end, "end"))
    parts = CandleTable.concat(tables)
    parts = parts.take(parts.trade_count > 0)
    whole = parts.merged()
    if whole is None:
        return EMPTY
    n = whole.trade_count
    if n <= EXACT_MEDIAN_TRADES:
        prices = await tx.reads.prices(inst.id, start, end - 1, limit=n + 1)
        mid, error = (median(prices), 0.0) if len(prices) == n else _estimate(parts)
    else:
        mid, error = _estimate(parts)
    first, last = whole.open, whole.close
    return Statistics(
        count=n,
        open=first,
        close=last,
        high=whole.high,
        low=whole.low,
        mean=whole.price_sum / n,
        median=mid,
        std=math.sqrt(max(whole.price_m2 / n, 0.0)),
        vwap=whole.vwap,
        volume=whole.volume,
        quote_volume=whole.quote_volume,
        change_pct=(last - first) / first * 100 if first else 0.0,
        median_error=error,
    )


def _estimate(parts: CandleTable) -> tuple[float, float]:
    lo, hi = parts.median_bounds()
    return (lo + hi) / 2, (hi - lo) / 2
