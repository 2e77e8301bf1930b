"""A group's candle history as numpy series, read through the market-data service."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tickhub.alerts.scanner._model import Group
from tickhub.marketdata import service

Series = dict[str, np.ndarray[Any, np.dtype[np.float64]]]
Starts = np.ndarray[Any, np.dtype[np.int64]]

# Candles per read of `history_between` (within what `closed_candles` returns at once for
# folded intervals; the stored 1m, 1h and 1d rollups are read in larger pieces).
CHUNK_FOLDED = 2_000
CHUNK_STORED = 50_000


async def history(market: service.MarketReads, group: Group, limit: int) -> tuple[Starts, Series]:
    """The latest `limit` candles of the group closed by `group.close`: their starts and
    series, from the bare rows of `service.closed_candles` (stored rollups for 1m, 1h
    and 1d; folded by the market-data service for other intervals)."""
    rows = await service.closed_candles(
        market,
        group.instrument,
        service.interval_or_error(group.interval),
        close=group.close,
        limit=limit,
    )
    return as_series(rows)


async def history_between(
    market: service.MarketReads, instrument: Any, interval: str, start: int, end: int
) -> tuple[Starts, Series]:
    """The candles starting at or after `start` and closing at or before `end` (both on
    the interval's boundaries), read as the scanner reads them, piece by piece."""
    spec = service.interval_or_error(interval)
    step = spec.fixed_us
    assert step is not None
    chunk = CHUNK_STORED if step in (60_000_000, 3_600_000_000, 86_400_000_000) else CHUNK_FOLDED
    rows: list[Sequence[float]] = []
    close = start
    while close < end:
        upto = min(end, close + chunk * step)
        part = await service.closed_candles(
            market, instrument, spec, close=upto, limit=(upto - close) // step
        )
        rows.extend(r for r in part if r[0] >= close)
        close = upto
    return as_series(rows)


def as_series(rows: Sequence[Sequence[float]]) -> tuple[Starts, Series]:
    """Bare rows (start, open, high, low, close, volume, quote volume, trade count) as
    the candle starts and the series the language reads."""
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=8 * len(rows))
    table = flat.reshape(len(rows), 8)
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    opens, highs, lows, closes, volume, quote, count = (table[:, k] for k in range(1, 8))
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(volume > 0, quote / volume, np.nan)
    series: Series = {"open": opens, "high": highs, "low": lows, "close": closes,
                      "volume": volume, "vwap": vwap, "trade_count": count}  # fmt: skip
    return starts, series
