"""Instruments, candles, statistics and coverage: the reads every API shares."""

from __future__ import annotations

import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickhub.common import errors as kinds
from tickhub.marketdata.ingest.normalize import compact_symbol
from tickhub.marketdata.service._ports import MarketReads
from tickhub.marketdata.store import coverage as cov
from tickhub.marketdata.store.candles import (
    Candle,
    Interval,
    IntervalError,
    best_rollup,
    boundaries,
    fold,
    parse_interval,
    trade_candle,
)
from tickhub.marketdata.store.coverage import Gap, Range
from tickhub.marketdata.store.repository import InstrumentInfo, Latest

MAX_CANDLES = 10_000


class MarketDataError(kinds.DomainError):
    """A request the market data cannot answer; `field` names the parameter at fault."""


class UnknownInstrument(MarketDataError, kinds.NotFound):
    """No such instrument (or no trade of it yet)."""


class InvalidParameter(MarketDataError, kinds.Invalid):
    """A parameter missing, malformed or out of range."""


async def resolve_instrument(
    tx: MarketReads, symbol: str, exchange: str | None = None
) -> InstrumentInfo:
    """Find an instrument by its exchange symbol (`BTCUSDT`) or base/quote (`BTC-USDT`).

    Without an exchange, a live venue is preferred over the simulated one.
    """
    wanted = compact_symbol(symbol)
    if not wanted:
        raise InvalidParameter("symbol is required", field="symbol")
    found = [
        i
        for i in await tx.reads.instruments(exchange)
        if compact_symbol(i.symbol) == wanted or compact_symbol(i.base + i.quote) == wanted
    ]
    if not found:
        where = f" on exchange {exchange!r}" if exchange else ""
        raise UnknownInstrument(f"unknown instrument {symbol!r}{where}", field="symbol")
    found.sort(key=lambda i: (i.simulated, i.exchange))
    return found[0]


async def instruments(tx: MarketReads, exchange: str | None = None) -> list[InstrumentInfo]:
    return await tx.reads.instruments(exchange)


async def latest_prices(tx: MarketReads, instrument_ids: list[int] | None = None) -> list[Latest]:
    return await tx.reads.latest(instrument_ids)


def parse_tz(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidParameter(f"unknown time zone {name!r}", field="tz") from exc


def interval_or_error(text: str) -> Interval:
    try:
        return parse_interval(text)
    except IntervalError as exc:
        raise InvalidParameter(str(exc), field="interval") from exc


async def candles(
    tx: MarketReads,
    inst: InstrumentInfo,
    interval: Interval,
    start: int,
    end: int,
    tz: ZoneInfo | None = None,
) -> list[Candle]:
    """Candles whose buckets meet [start, end), oldest first; empty buckets are omitted."""
    if start >= end:
        raise InvalidParameter("start must be before end", field="start")
    fixed = interval.fixed_us
    if fixed is not None and (end - start) // fixed > MAX_CANDLES:
        raise InvalidParameter(
            f"more than {MAX_CANDLES} candles: narrow start/end or widen the interval",
            field="interval",
        )
    edges = boundaries(start, end, interval, tz)
    if len(edges) > MAX_CANDLES + 1:
        raise InvalidParameter(f"more than {MAX_CANDLES} candles", field="interval")
    repo = tx.reads
    res = best_rollup(edges)
    if res is not None:
        source = await repo.candles(inst.id, res, edges[0], edges[-1])
        return fold(source, edges)
    trades = await repo.trades(inst.id, edges[0], edges[-1] - 1)
    return fold((trade_candle(t) for t in trades), edges)


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


async def statistics(tx: MarketReads, inst: InstrumentInfo, start: int, end: int) -> Statistics:
    """Statistics of the stored trades with start <= time <= end (population std)."""
    if start > end:
        raise InvalidParameter("start must not be after end", field="start")
    s = await tx.reads.trade_stats(inst.id, start, end)
    count = int(s["count"] or 0)
    if count == 0:
        return Statistics(0, None, None, None, None, None, None, None, None, 0.0, 0.0, None)
    first, last = float(s["open"] or 0), float(s["close"] or 0)
    volume, quote_volume = float(s["volume"] or 0), float(s["quote_volume"] or 0)
    return Statistics(
        count=count,
        open=first,
        close=last,
        high=float(s["high"] or 0),
        low=float(s["low"] or 0),
        mean=float(s["mean"] or 0),
        median=float(s["median"] or 0),
        std=math.sqrt(max(float(s["variance"] or 0), 0.0)),
        vwap=quote_volume / volume if volume else None,
        volume=volume,
        quote_volume=quote_volume,
        change_pct=(last - first) / first * 100 if first else 0.0,
    )


async def coverage(tx: MarketReads, inst: InstrumentInfo) -> tuple[list[Range], list[Gap]]:
    ranges = await tx.reads.coverage(inst.id)
    return ranges, cov.gaps(ranges)
