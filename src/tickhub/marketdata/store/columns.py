"""Candles as columns (numpy arrays): the hot reads (`/v1/candles`, `/v1/statistics`)
fold and merge stored rollups without building an object per row. Pure: no I/O.

The results are those of `candles.fold` and `candles.merge` over the same rows; sums
may differ from a left-to-right fold in the last bits of a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tickhub.marketdata.store.candles import Candle

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

RollupRow = tuple[int, float, float, float, float, float, float, int, float, float]
"""A stored rollup as a bare row: start, open, high, low, close, volume, quote volume,
trade count, price sum, price M2."""


@dataclass(frozen=True, slots=True)
class CandleTable:
    """Candles oldest first, one array per field."""

    start: Ints
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats
    quote_volume: Floats
    trade_count: Ints
    price_sum: Floats
    price_m2: Floats

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def of_rows(cls, rows: Sequence[RollupRow] | Sequence[Any]) -> CandleTable:
        if not rows:
            return EMPTY
        a = np.array(rows, dtype=np.float64)
        ints = np.array([(r[0], r[7]) for r in rows], dtype=np.int64)  # exact past 2**53
        return cls(ints[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5], a[:, 6], ints[:, 1],
                   a[:, 8], a[:, 9])  # fmt: skip

    @classmethod
    def of_candles(cls, candles: Sequence[Candle]) -> CandleTable:
        rows = [
            (c.start, c.open, c.high, c.low, c.close, c.volume, c.quote_volume,
             c.trade_count, c.price_sum, c.price_m2)
            for c in candles
        ]  # fmt: skip
        return cls.of_rows(rows)

    @classmethod
    def of_trades(cls, rows: Sequence[tuple[int, float, float]] | Sequence[Any]) -> CandleTable:
        """A candle per trade of (ts, price, qty) rows, as `candles.trade_candle` makes
        it (M2 zero)."""
        if not rows:
            return EMPTY
        ts, price, qty = zip(*rows, strict=True)
        p = np.array(price, dtype=np.float64)
        n = len(p)
        return cls(np.array(ts, dtype=np.int64), p, p, p, p, np.array(qty, dtype=np.float64),
                   p * np.array(qty, dtype=np.float64), np.ones(n, dtype=np.int64), p,
                   np.zeros(n))  # fmt: skip

    @classmethod
    def concat(cls, parts: Sequence[CandleTable]) -> CandleTable:
        parts = [p for p in parts if len(p)]
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    def take(self, index: slice | npt.NDArray[np.bool_]) -> CandleTable:
        return CandleTable(*(getattr(self, f)[index] for f in _FIELDS))

    def fold(self, edges: Sequence[int]) -> CandleTable:
        """Folded into the buckets [edges[i], edges[i+1]), as `candles.fold` does (rows
        outside the edges are left out; empty buckets are omitted). M2 is not merged
        (zero): the candle routes do not show it."""
        bounds = np.asarray(edges, dtype=np.int64)
        if len(bounds) - 1 == len(self) and bool((bounds[:-1] == self.start).all()):
            return self  # every bucket is one row: nothing to fold
        inside = self.take((self.start >= edges[0]) & (self.start < edges[-1]))
        if not len(inside):
            return EMPTY
        bucket = np.searchsorted(bounds, inside.start, side="right") - 1
        if len(bounds) - 1 == len(inside) and bool((bounds[:-1] == inside.start).all()):
            return inside
        first = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        last = np.r_[first[1:], len(bucket)] - 1
        return CandleTable(
            bounds[bucket[first]],
            inside.open[first],
            np.maximum.reduceat(inside.high, first),
            np.minimum.reduceat(inside.low, first),
            inside.close[last],
            np.add.reduceat(inside.volume, first),
            np.add.reduceat(inside.quote_volume, first),
            np.add.reduceat(inside.trade_count, first),
            np.add.reduceat(inside.price_sum, first),
            np.zeros(len(first)),
        )

    def merged(self) -> Candle | None:
        """Every candle with trades merged into one (as `candles.merge` over them in
        time order); None when none has a trade. Open and close times and ids are not
        carried (zero)."""
        t = self.take(self.trade_count > 0)
        if not len(t):
            return None
        n = int(t.trade_count.sum())
        total = float(t.price_sum.sum())
        means = t.price_sum / t.trade_count
        spread = means - total / n
        m2 = float(t.price_m2.sum() + (t.trade_count * spread * spread).sum())
        return Candle(
            int(t.start[0]), float(t.open[0]), float(t.high.max()), float(t.low.min()),
            float(t.close[-1]), float(t.volume.sum()), float(t.quote_volume.sum()), n,
            0, 0, 0, 0, total, m2,
        )  # fmt: skip

    def median_bounds(self) -> tuple[float, float]:
        """Bounds of the median of the trades behind these candles: the k-th smallest
        price lies between the k-th smallest of the lows and the k-th smallest of the
        highs (each candle counted `trade_count` times)."""
        n = int(self.trade_count.sum())
        ranks = np.array([(n - 1) // 2, n // 2])

        def at(values: Floats) -> float:
            order = np.argsort(values, kind="stable")
            seen = np.cumsum(self.trade_count[order])
            found = values[order][np.searchsorted(seen, ranks, side="right")]
            return float(found.mean())

        return at(self.low), at(self.high)


_FIELDS = CandleTable.__slots__
_NO_INTS: Ints = np.zeros(0, dtype=np.int64)
_NO_FLOATS: Floats = np.zeros(0, dtype=np.float64)
_F = _NO_FLOATS
EMPTY = CandleTable(_NO_INTS, _F, _F, _F, _F, _F, _F, _NO_INTS, _F, _F)
