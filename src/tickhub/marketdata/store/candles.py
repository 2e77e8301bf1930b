"""Candle arithmetic, intervals and windows. Pure: no I/O.

The writer keeps rollups at three resolutions (1 m, 1 h, 1 d, UTC-aligned). Any other
interval is folded from the coarsest rollup whose buckets tile it exactly; intervals
below a minute (or not whole minutes) are folded from the trades themselves.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import attrgetter, mul
from zoneinfo import ZoneInfo

from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import Trade

US = 1_000_000
MINUTE, HOUR, DAY, WEEK = 60 * US, 3600 * US, 86400 * US, 7 * 86400 * US
ROLLUPS: tuple[int, ...] = (MINUTE, HOUR, DAY)
# 1970-01-01 was a Thursday; weeks start on Monday.
WEEK_OFFSET = 4 * DAY


@dataclass(frozen=True, slots=True)
class Candle:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trade_count: int
    open_ts: int
    open_id: int
    close_ts: int
    close_id: int
    # The sum of the trade prices and the sum of their squared deviations from the
    # candle's mean price (M2): mergeable, so the mean and the population standard
    # deviation of any window follow exactly from its rollups (`merge`).
    price_sum: float = 0.0
    price_m2: float = 0.0

    @property
    def vwap(self) -> float | None:
        return self.quote_volume / self.volume if self.volume else None

    @property
    def mean(self) -> float | None:
        return self.price_sum / self.trade_count if self.trade_count else None


def merged_m2(n_a: int, sum_a: float, m2_a: float, n_b: int, sum_b: float, m2_b: float) -> float:
    """M2 of two sets of prices from their counts, sums and M2s (Chan et al.'s pairwise
    update, stable where sums of squares are not)."""
    if n_a == 0:
        return m2_b
    if n_b == 0:
        return m2_a
    delta = sum_b / n_b - sum_a / n_a
    return m2_a + m2_b + delta * delta * n_a * n_b / (n_a + n_b)


def merge(a: Candle, b: Candle) -> Candle:
    """Combine two candles of the same bucket (order-independent)."""
    first, last = a, b
    if (b.open_ts, b.open_id) < (a.open_ts, a.open_id):
        first = b
    if (a.close_ts, a.close_id) > (b.close_ts, b.close_id):
        last = a
    return Candle(
        min(a.start, b.start),
        first.open,
        a.high if a.high > b.high else b.high,
        a.low if a.low < b.low else b.low,
        last.close,
        a.volume + b.volume,
        a.quote_volume + b.quote_volume,
        a.trade_count + b.trade_count,
        first.open_ts,
        first.open_id,
        last.close_ts,
        last.close_id,
        a.price_sum + b.price_sum,
        merged_m2(a.trade_count, a.price_sum, a.price_m2, b.trade_count, b.price_sum, b.price_m2),
    )


def aggregate_trades(trades: Iterable[Trade], resolution: int) -> dict[int, Candle]:
    """Fold trades into UTC-aligned buckets of `resolution` microseconds.

    Trades usually come in time order, so each run of one bucket is folded with C-level
    builtins; a bucket met again later is merged in.
    """
    out: dict[int, Candle] = {}
    for start, run in groupby(trades, key=lambda t: t.ts - t.ts % resolution):
        g = list(run)
        prices = [t.price for t in g]
        qtys = [t.qty for t in g]
        first = min(g, key=_ORDER)
        last = max(g, key=_ORDER)
        total = sum(prices)
        mean = total / len(prices)
        c = Candle(
            start,
            first.price,
            max(prices),
            min(prices),
            last.price,
            sum(qtys),
            sum(map(mul, prices, qtys)),
            len(g),
            first.ts,
            first.trade_id,
            last.ts,
            last.trade_id,
            total,
            sum((p - mean) * (p - mean) for p in prices),
        )
        cur = out.get(start)
        out[start] = c if cur is None else merge(cur, c)
    return out


_ORDER = attrgetter("ts", "trade_id")


def rollup(candles: Iterable[Candle], resolution: int) -> dict[int, Candle]:
    """Fold finer UTC-aligned candles into buckets of `resolution` microseconds."""
    out: dict[int, Candle] = {}
    for c in candles:
        start = c.start - c.start % resolution
        cur = out.get(start)
        out[start] = _at(c, start) if cur is None else merge(cur, c)
    return out


def fold(candles: Iterable[Candle], boundaries: Sequence[int]) -> list[Candle]:
    """Fold candles into the buckets [b[i], b[i+1]); empty buckets are omitted."""
    buckets: dict[int, Candle] = {}
    lo, hi = boundaries[0], boundaries[-1]
    for c in candles:
        s = c.start
        if s < lo or s >= hi:
            continue
        start = boundaries[bisect_right(boundaries, s) - 1]
        cur = buckets.get(start)
        if cur is None:
            buckets[start] = c if s == start else _at(c, start)
        else:
            buckets[start] = merge(cur, c)
    return [buckets[k] for k in sorted(buckets)]


def _at(c: Candle, start: int) -> Candle:
    """The same candle, labelled with the start of the bucket it is folded into."""
    return Candle(
        start,
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
        c.quote_volume,
        c.trade_count,
        c.open_ts,
        c.open_id,
        c.close_ts,
        c.close_id,
        c.price_sum,
        c.price_m2,
    )


def trade_candle(t: Trade) -> Candle:
    return Candle(
        t.ts,
        t.price,
        t.price,
        t.price,
        t.price,
        t.qty,
        t.price * t.qty,
        1,
        t.ts,
        t.trade_id,
        t.ts,
        t.trade_id,
        t.price,
        0.0,
    )


# ---------------------------------------------------------------- intervals and windows


class IntervalError(ValueError):
    pass


_INTERVAL_RE = re.compile(r"^(\d{1,6})([smhdwM])$")
_UNIT_US = {"s": US, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}
MAX_INTERVAL = 366 * DAY


@dataclass(frozen=True, slots=True)
class Interval:
    """`count` of `unit`: s, m (minutes), h, d, w or M (calendar months)."""

    count: int
    unit: str

    @property
    def text(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def fixed_us(self) -> int | None:
        """Length in microseconds, or None for calendar months."""
        return None if self.unit == "M" else self.count * _UNIT_US[self.unit]


def parse_interval(text: str) -> Interval:
    """`1s`, `1m`, `7m`, `1h`, `4h`, `1d`, `1w`, `1M` … (m is minutes, M is months)."""
    m = _INTERVAL_RE.match(text.strip())
    if not m:
        raise IntervalError(
            f"invalid interval {text!r}: use a count and a unit s, m, h, d, w or M, like 1m or 4h"
        )
    iv = Interval(int(m.group(1)), m.group(2))
    if iv.count == 0:
        raise IntervalError("interval must be positive")
    if iv.unit == "M" and iv.count > 12:
        raise IntervalError("interval longer than a year")
    if (f := iv.fixed_us) is not None and f > MAX_INTERVAL:
        raise IntervalError("interval longer than a year")
    return iv


_WINDOW_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\b",
    re.IGNORECASE,
)


_MAX_WINDOW_S = 3660 * 86400


def parse_window(text: str) -> timedelta:
    """A PostgreSQL-style interval literal: `120 minute`, `2880 minutes`, `1 day 2 hours`."""
    s = text.strip()
    pos, total = 0, timedelta()
    if not s:
        raise IntervalError("empty window")
    for m in _WINDOW_PART.finditer(s):
        if s[pos : m.start()].strip():
            break
        n, unit = float(m.group(1)), m.group(2).lower()
        key = "m" if unit == "m" or unit.startswith("mi") else unit[0]
        seconds = n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[key]
        if seconds > _MAX_WINDOW_S:
            raise IntervalError(f"window {text!r} is longer than ten years")
        total += timedelta(seconds=seconds)
        pos = m.end()
    if pos != len(s) or total <= timedelta():
        raise IntervalError(
            f"invalid window {text!r}: use a PostgreSQL interval such as '120 minute' or '2 hours'"
        )
    if total.total_seconds() > _MAX_WINDOW_S:
        raise IntervalError("window longer than ten years")
    return total


def boundaries(start: int, end: int, interval: Interval, tz: ZoneInfo | None) -> list[int]:
    """Bucket edges covering [start, end): the first edge is at or before `start`.

    Intervals of a day or more are aligned to midnight in `tz` (UTC by default); weeks
    start on Monday; months on the 1st. Shorter intervals are aligned to the epoch (UTC).
    """
    fixed = interval.fixed_us
    if fixed is not None and (fixed < DAY or fixed % DAY):
        first = start - start % fixed
        return list(range(first, end + fixed, fixed))
    zone = tz or ZoneInfo("UTC")
    local = datetime.fromtimestamp(start / US, tz=UTC).astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    if interval.unit == "w":
        day -= timedelta(days=day.weekday())
        # align multi-week buckets to the epoch's first Monday
        weeks = (day.date() - date(1970, 1, 5)).days // 7
        day -= timedelta(weeks=weeks % interval.count)
    elif interval.unit == "d":
        days = (day.date() - date(1970, 1, 1)).days
        day -= timedelta(days=days % interval.count)
    else:  # months
        day = day.replace(day=1)
        months = (day.year - 1970) * 12 + day.month - 1
        back = months % interval.count
        y, mo = divmod(day.year * 12 + day.month - 1 - back, 12)
        day = day.replace(year=y, month=mo + 1)
    edges: list[int] = []
    cur = day
    while True:
        edges.append(datetime_to_us(_localize(cur, zone)))
        if edges[-1] >= end:
            break
        cur = _advance(cur, interval)
    return edges


def _advance(d: datetime, interval: Interval) -> datetime:
    if interval.unit == "M":
        y, m = divmod(d.year * 12 + d.month - 1 + interval.count, 12)
        return d.replace(year=y, month=m + 1)
    step = timedelta(days=interval.count * (7 if interval.unit == "w" else 1))
    return (d.replace(tzinfo=None) + step).replace(tzinfo=d.tzinfo)


def _localize(d: datetime, zone: ZoneInfo) -> datetime:
    """Wall-clock midnight in `zone` (a midnight that does not exist moves forward)."""
    naive = d.replace(tzinfo=None)
    aware = naive.replace(tzinfo=zone, fold=0)
    roundtrip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if roundtrip != naive:  # in a DST gap
        aware = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return aware


def best_rollup(edges: Sequence[int]) -> int | None:
    """The coarsest stored rollup whose buckets tile every bucket edge, or None for trades."""
    common = math.gcd(*edges)  # each rollup divides every edge iff it divides this
    for res in reversed(ROLLUPS):
        if common % res == 0:
            return res
    return None
