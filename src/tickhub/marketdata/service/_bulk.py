"""Market data in bulk for other contexts: the scanner's closed candles as bare rows."""

from __future__ import annotations

from tickhub.marketdata.service._ports import CandleRow, MarketReads
from tickhub.marketdata.service._v1 import candle_series
from tickhub.marketdata.store.candles import ROLLUPS, Interval
from tickhub.marketdata.store.repository import InstrumentInfo


async def closed_candles(
    tx: MarketReads, inst: InstrumentInfo, interval: Interval, *, close: int, limit: int
) -> list[CandleRow]:
    """The latest `limit` candles of `interval` closed by `close`, oldest first, as bare
    rows (start, open, high, low, close, volume, quote volume, trade count); buckets
    without trades are left out. Intervals the writer keeps as rollups (1m, 1h, 1d), with
    `close` on one of their boundaries, are read as stored, without per-row objects;
    others are folded like `candle_series`."""
    step = interval.fixed_us
    if step is not None and step in ROLLUPS and close % step == 0:
        return await tx.reads.rollup_columns(inst.id, step, close - limit * step, close)
    found = await candle_series(tx, inst, interval, start=None, end=close, limit=limit, now=close)
    return [
        (c.start, c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trade_count)
        for c in found
    ]
