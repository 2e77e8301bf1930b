"""A group's candle history as numpy series, read through the market-data service."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tickhub.alerts.scanner._model import Group
from tickhub.marketdata import service

Series = dict[str, np.ndarray[Any, np.dtype[np.float64]]]


async def history(
    market: service.MarketReads, group: Group, limit: int
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], Series]:
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
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=8 * len(rows))
    table = flat.reshape(len(rows), 8)
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    opens, highs, lows, closes, volume, quote, count = (table[:, k] for k in range(1, 8))
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(volume > 0, quote / volume, np.nan)
    series: Series = {"open": opens, "high": highs, "low": lows, "close": closes,
                      "volume": volume, "vwap": vwap, "trade_count": count}  # fmt: skip
    return starts, series
