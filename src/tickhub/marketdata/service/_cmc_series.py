"""CoinMarketCap's history as series aligned to candle closes, for the strategy
conditions: the global metrics (the same for every instrument) and a coin's listing
fields (for the `coinmarketcap` instruments, whose base is the coin's symbol).

At each close the value is the one of the latest row stored at or before it (its
`minute`, the boundary the call was made for), carried forward over minutes without a
row; before the first row it is NaN, and so is a field the latest row holds as null.
`as_of` says which row each value came from, so a gap shows. The reads are bounded by
the closes, not by the rows stored: at most one row per step between two closes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import numpy.typing as npt

from tickhub.marketdata.coinmarketcap.client import SOURCE
from tickhub.marketdata.service._core import InvalidParameter
from tickhub.marketdata.service._ports import MarketReads
from tickhub.marketdata.store.repository import InstrumentInfo

Floats = npt.NDArray[np.float64]
Times = npt.NDArray[np.int64]

CMC_EXCHANGE = SOURCE  # the exchange of the instruments that quote a listed coin
NO_VALUE = -1  # `as_of` of a close with no row at or before it

# series name -> field of `CmcGlobalMetrics`
GLOBAL_SERIES: Mapping[str, str] = {
    "btc_dominance": "btc_dominance",
    "eth_dominance": "eth_dominance",
    "total_market_cap": "total_market_cap",
    "total_volume_24h": "total_volume_24h",
    "active_cryptocurrencies": "active_cryptocurrencies",
}
# series name -> field of `CmcListing`
LISTING_SERIES: Mapping[str, str] = {
    "market_cap": "market_cap",
    "percent_change_24h": "percent_change_24h",
    "cmc_rank": "rank",
}


@dataclass(frozen=True, slots=True)
class AsOfSeries:
    """One series at each close: its value (NaN: none) and the `minute` of the row it
    came from (µs; `NO_VALUE` before the first row)."""

    values: Floats
    as_of: Times


def lists_coin(inst: InstrumentInfo) -> bool:
    """True when the instrument is a CoinMarketCap quote (its listing fields apply)."""
    return inst.exchange == CMC_EXCHANGE


def align(
    minutes: Sequence[int], rows: Sequence[Mapping[str, Any]], closes: npt.ArrayLike
) -> dict[str, AsOfSeries]:
    """Each field of `rows` (one per minute of `minutes`, ascending) at each close: the
    value of the latest row at or before it, NaN before the first (or where null)."""
    at = np.asarray(closes, dtype=np.int64)
    times = np.asarray(minutes, dtype=np.int64)
    picked = np.searchsorted(times, at, side="right") - 1
    found = picked >= 0
    as_of = np.where(found, times[np.maximum(picked, 0)] if times.size else 0, NO_VALUE)
    names = rows[0].keys() if rows else ()
    out: dict[str, AsOfSeries] = {}
    for name in names:
        column = np.array([_number(r[name]) for r in rows], dtype=np.float64)
        values = np.where(found, column[np.maximum(picked, 0)], np.nan)
        out[name] = AsOfSeries(values, as_of.astype(np.int64))
    return out


async def cmc_series(
    tx: MarketReads,
    names: Collection[str],
    closes: npt.ArrayLike,
    *,
    instrument: InstrumentInfo | None = None,
) -> dict[str, AsOfSeries]:
    """The series `names` (of `GLOBAL_SERIES` and `LISTING_SERIES`) at each of `closes`
    (ascending, µs). Listing series are of `instrument`'s coin; for an instrument that is
    not a CoinMarketCap quote, or a coin not listed, they have no value anywhere."""
    unknown = sorted(set(names) - GLOBAL_SERIES.keys() - LISTING_SERIES.keys())
    if unknown:
        raise InvalidParameter(f"unknown CoinMarketCap series {unknown[0]!r}", field="series")
    at = np.asarray(closes, dtype=np.int64)
    empty = AsOfSeries(np.full(at.shape, np.nan), np.full(at.shape, NO_VALUE, dtype=np.int64))
    out = dict.fromkeys(names, empty)
    if at.size == 0:
        return out
    first, last, step = int(at[0]), int(at[-1]), _step(at)
    wanted = [n for n in names if n in GLOBAL_SERIES]
    if wanted:
        found = await tx.cmc.global_as_of(first, last, step)
        rows = [{n: getattr(g, GLOBAL_SERIES[n]) for n in wanted} for g in found]
        out |= align([g.minute for g in found], rows, at)
    wanted = [n for n in names if n in LISTING_SERIES]
    if wanted and instrument is not None and lists_coin(instrument):
        coin = await tx.cmc.coin_by_symbol(instrument.base.upper())
        if coin is not None:
            stored = await tx.cmc.listing_as_of(coin.listing.cmc_id, first, last, step)
            rows = [{n: getattr(s.listing, LISTING_SERIES[n]) for n in wanted} for s in stored]
            out |= align([s.minute for s in stored], rows, at)
    return out


def _step(closes: Times) -> int:
    """The largest step every close is a multiple of, counted from the first (candle
    closes: the interval, unless closes are uneven); at least one."""
    gaps = np.diff(closes)
    return max(1, reduce(math.gcd, (int(g) for g in np.unique(gaps)), 0))


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)
