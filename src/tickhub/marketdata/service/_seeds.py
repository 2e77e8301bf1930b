"""Reads behind the seed paths: seed 001's tracker API and seed 004's crypto-ticker API."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, median, pstdev

import numpy as np
import numpy.typing as npt

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.normalize import coin_name, compact_symbol
from tickhub.marketdata.service._core import (
    MAX_CANDLES,
    InvalidParameter,
    candles,
)
from tickhub.marketdata.service._exactsum import exact_sum
from tickhub.marketdata.service._ports import MarketReads
from tickhub.marketdata.store.candles import (
    MINUTE,
    Candle,
    Interval,
)
from tickhub.marketdata.store.repository import InstrumentInfo, PriceColumns

MAX_SEED_PRICES = 100_000
"""The most trades one seed 004 statistics answer lists (the seed did not paginate it)."""
SEED_CHUNK = 10_000
"""Rows per chunk of a streamed seed 004 statistics answer."""
MAX_SEED_MATCHES = 100_000
"""The most trades a seed price page counts and pages through: past it, narrow the range
(the count is a bounded read, and so is the offset: an offset of 990,000 took a core a
second, bench/bounds.py)."""


@dataclass(frozen=True, slots=True)
class CoinTicker:
    ticker: str
    exchange: str
    coin: str


@dataclass(frozen=True, slots=True)
class PricePoint:
    instrument: InstrumentInfo
    trade: Trade


@dataclass(frozen=True, slots=True)
class PriceSummary:
    count: int
    mean: float
    median: float
    pstdev: float
    change_pct: float


async def coin_assets(tx: MarketReads) -> list[tuple[str, str]]:
    """(coin name, asset symbol) of each asset that is the base of an instrument, by name.

    Assets seen only as a quote (USDT) are left out: no ticker would match them.
    """
    repo = tx.reads
    bases = {i.base.upper() for i in await repo.instruments()}
    return sorted((name, sym) for sym, name in await repo.assets() if sym.upper() in bases)


async def exchange_countries(tx: MarketReads) -> list[tuple[str, str | None]]:
    """(name, country) of every exchange, by name."""
    return [(name, country) for name, country, _ in await tx.reads.exchanges()]


async def coin_tickers(tx: MarketReads, coin: str, exchange: str) -> list[CoinTicker]:
    """Instruments on `exchange` whose base asset is `coin`, by coin name (`bitcoin`) or
    asset symbol (`BTC`); both compared case-insensitively. No match is an empty list."""
    wanted, venue = coin.strip().lower(), exchange.strip().lower()
    repo = tx.reads
    names = {sym.upper(): name for sym, name in await repo.assets()}
    out: list[CoinTicker] = []
    for inst in await repo.instruments():
        if inst.exchange.lower() != venue:
            continue
        name = names.get(inst.base.upper(), coin_name(inst.base))
        if wanted in (name.lower(), inst.base.lower()):
            out.append(CoinTicker(inst.symbol, inst.exchange, name))
    return out


async def recent_minutes(
    tx: MarketReads, inst: InstrumentInfo, start: int, end: int, limit: int
) -> list[Candle]:
    """The 1-minute candles whose minute meets [start, end], newest first, at most `limit`.

    Reads back from `end` in spans that `candles` accepts and stops once `limit` candles
    are found, so a long window costs only the spans it needs: none before the first
    stored trade, none after the last.
    """
    if limit <= 0 or start > end:
        return []
    first = await tx.reads.first_covered_ts([inst.id])
    last = await tx.reads.last_covered_ts([inst.id])
    if first is None or last is None:
        return []
    start = max(start, first - first % MINUTE)  # no span before the data is read
    end = min(end, last)  # nor after it
    one_minute = Interval(1, "m")
    span = (MAX_CANDLES - 2) * MINUTE
    out: list[Candle] = []
    hi = end + 1
    while hi > start and len(out) < limit:
        lo = max(start, hi - hi % MINUTE - span)
        out.extend(reversed(await candles(tx, inst, one_minute, lo, hi)))
        hi = lo
    return out[:limit]


async def market_instruments(tx: MarketReads) -> list[InstrumentInfo]:
    """One instrument per market (base/quote): the one `resolve_instrument` prefers."""
    best: dict[str, InstrumentInfo] = {}
    for inst in await tx.reads.instruments():
        key = compact_symbol(inst.base + inst.quote) or compact_symbol(inst.symbol)
        cur = best.get(key)
        if cur is None or (inst.simulated, inst.exchange) < (cur.simulated, cur.exchange):
            best[key] = inst
    return sorted(best.values(), key=lambda i: (i.symbol, i.exchange))


async def collection_start(tx: MarketReads, instruments: Sequence[InstrumentInfo]) -> int | None:
    """When collection of these instruments started: their earliest processed trade."""
    if not instruments:
        return None
    return await tx.reads.first_covered_ts([i.id for i in instruments])


async def price_page(
    tx: MarketReads,
    instruments: Sequence[InstrumentInfo],
    start: int | None,
    end: int | None,
    *,
    offset: int,
    limit: int,
) -> tuple[int, list[PricePoint]]:
    """(how many stored trades have start <= time <= end, one page of them), oldest first.
    More than `MAX_SEED_MATCHES` is an `InvalidParameter` on `range`."""
    if not instruments:
        return 0, []
    repo = tx.reads
    by_id = {i.id: i for i in instruments}
    count = await repo.count_trades_of(list(by_id), start, end, up_to=MAX_SEED_MATCHES + 1)
    if count > MAX_SEED_MATCHES:
        raise InvalidParameter(
            f"more than {MAX_SEED_MATCHES} prices match: narrow the time range", field="range"
        )
    if count == 0 or offset >= count:
        return count, []
    rows = await repo.trades_of(list(by_id), start, end, offset=offset, limit=limit)
    return count, [PricePoint(by_id[inst_id], t) for inst_id, t in rows]


async def price_series(
    tx: MarketReads, inst: InstrumentInfo, start: int | None, end: int | None
) -> list[Trade]:
    """Every stored trade with start <= time <= end, oldest first; more than
    `MAX_SEED_PRICES` is an `InvalidParameter` on `range`."""
    found = await tx.reads.trades(inst.id, start, end, limit=MAX_SEED_PRICES + 1)
    if len(found) > MAX_SEED_PRICES:
        raise InvalidParameter(
            f"more than {MAX_SEED_PRICES} prices match: narrow the time range", field="range"
        )
    return found


async def count_prices(
    tx: MarketReads, inst: InstrumentInfo, start: int | None, end: int | None
) -> int:
    """How many stored trades have start <= time <= end (a bounded count); more than
    `MAX_SEED_PRICES` is an `InvalidParameter` on `range`."""
    n = await tx.reads.count_trades_of([inst.id], start, end, up_to=MAX_SEED_PRICES + 1)
    if n > MAX_SEED_PRICES:
        raise InvalidParameter(
            f"more than {MAX_SEED_PRICES} prices match: narrow the time range", field="range"
        )
    return n


async def price_chunk(
    tx: MarketReads,
    inst: InstrumentInfo,
    start: int | None,
    end: int | None,
    *,
    after: tuple[int, int] | None,
    listed: int,
) -> tuple[PriceColumns, bool]:
    """(the next `SEED_CHUNK` (trade id, time, price) of the stored trades with start <=
    time <= end, oldest first, after the (time, trade id) `after` (None: from the first),
    when `listed` are already out; whether more may follow: the chunk is as long as
    asked). Never past `MAX_SEED_PRICES` in all. Each chunk is its own short read, so a
    streamed answer holds no connection between them."""
    left = MAX_SEED_PRICES - listed
    if left <= 0:
        return PriceColumns.of_rows([]), False
    limit = min(SEED_CHUNK, left)
    rows = await tx.reads.price_rows(inst.id, start, end, after=after, limit=limit)
    return rows, len(rows) == limit


async def price_span(
    tx: MarketReads, inst: InstrumentInfo, lo: int, hi: int, limit: int
) -> PriceColumns:
    """(trade id, time, price) of the stored trades with lo <= time < hi, oldest first,
    at most `limit` (a block read of `PriceBlocks`): read `SEED_CHUNK` at a time, so the
    driver's rows never number more than that."""
    chunks: list[PriceColumns] = []
    after = None
    while limit > 0:
        size = min(SEED_CHUNK, limit)
        chunk = await tx.reads.price_rows(inst.id, lo, hi - 1, after=after, limit=size)
        chunks.append(chunk)
        limit -= len(chunk)
        if len(chunk) < size:
            break
        after = (int(chunk.times[-1]), int(chunk.ids[-1]))
    return PriceColumns.concat(chunks)


def summarize(prices: npt.NDArray[np.float64]) -> PriceSummary:
    """`price_summary` over an array: the mean and the population standard deviation
    from correctly rounded sums (as `statistics` does; `exact_sum` is `math.fsum`), the
    median from a partition around the middle (the values a sort would put there, at a
    sixth of its cost)."""
    n = len(prices)
    if not n:
        raise InvalidParameter("no prices", field="range")
    mean = exact_sum(prices) / n
    squares = prices - mean
    squares *= squares  # the deviations' squares, in place (one whole array fewer)
    mid = n // 2
    ordered = np.partition(prices, [mid - 1, mid] if mid else [mid])
    median_ = float(ordered[mid]) if n % 2 else (float(ordered[mid - 1]) + float(ordered[mid])) / 2
    first, last = float(prices[0]), float(prices[-1])
    return PriceSummary(
        count=n,
        mean=mean,
        median=median_,
        pstdev=math.sqrt(exact_sum(squares) / n),
        change_pct=(last - first) / first * 100 if first else 0.0,
    )


def price_summary(prices: Sequence[float]) -> PriceSummary:
    """Mean, median, population standard deviation and the change from the first to the last
    price in percent (0 when the first is 0), as seed 004's statistics computed them."""
    if not prices:
        raise InvalidParameter("no prices", field="range")
    first, last = prices[0], prices[-1]
    return PriceSummary(
        count=len(prices),
        mean=fmean(prices),
        median=median(prices),
        pstdev=pstdev(prices),
        change_pct=(last - first) / first * 100 if first else 0.0,
    )
