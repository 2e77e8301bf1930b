"""Venues described, and one asset compared across them (`/v1/exchanges`, `/v1/compare`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickhub.marketdata.service._core import InvalidParameter
from tickhub.marketdata.service._ports import MarketReads
from tickhub.marketdata.store.candles import MINUTE
from tickhub.marketdata.store.repository import InstrumentInfo
from tickhub.marketdata.venues import VenueInfo, describe, normal_asset, quote_matches

_ASSET = re.compile(r"^[A-Za-z0-9]{1,20}$")
MIN_WINDOW_S = 60
MAX_WINDOW_S = 7 * 86_400


async def described_exchanges(tx: MarketReads) -> list[VenueInfo]:
    """Every exchange with trades stored, with its name, country and capabilities."""
    return [describe(name, country) for name, country, _ in await tx.reads.exchanges()]


@dataclass(frozen=True, slots=True)
class VenuePrice:
    instrument: InstrumentInfo
    price: float  # the latest trade's
    ts: int
    volume: float  # base volume over the window
    quote_volume: float
    trades: int

    @property
    def vwap(self) -> float | None:
        return self.quote_volume / self.volume if self.volume > 0 else None


@dataclass(frozen=True, slots=True)
class Comparison:
    base: str
    quote: str
    start: int  # the window, minute-aligned: start <= t < end
    end: int
    venues: list[VenuePrice]  # highest price first
    priced: list[VenuePrice]  # the venues the spread and VWAP are over (real ones if any)

    @property
    def high(self) -> VenuePrice | None:
        return max(self.priced, key=lambda v: v.price, default=None)

    @property
    def low(self) -> VenuePrice | None:
        return min(self.priced, key=lambda v: v.price, default=None)

    @property
    def spread(self) -> float | None:
        high, low = self.high, self.low
        return None if high is None or low is None else high.price - low.price

    @property
    def spread_pct(self) -> float | None:
        low, spread = self.low, self.spread
        return None if low is None or spread is None else spread / low.price * 100

    @property
    def volume(self) -> float:
        return sum(v.volume for v in self.priced)

    @property
    def vwap(self) -> float | None:
        volume = self.volume
        return sum(v.quote_volume for v in self.priced) / volume if volume > 0 else None


def _asset(value: str, field: str) -> str:
    if not _ASSET.match(value.strip()):
        raise InvalidParameter(f"{field} must be an asset symbol such as BTC", field=field)
    return normal_asset(value)


async def compare(tx: MarketReads, base: str, quote: str, window_s: int, now: int) -> Comparison:
    """The latest price of `base` in `quote` on every venue, with volumes over the last
    `window_s` seconds (whole minutes, the current one included). `quote=USD` groups USD
    and its stablecoins (each venue keeps its own quote); `quote=USDT` is USDT alone.
    Simulated venues are listed but left out of the spread and the VWAP when real ones
    trade the pair."""
    wanted_base, wanted_quote = _asset(base, "base"), _asset(quote, "quote")
    if not MIN_WINDOW_S <= window_s <= MAX_WINDOW_S:
        raise InvalidParameter(
            f"window must lie between {MIN_WINDOW_S} and {MAX_WINDOW_S} seconds", field="window"
        )
    end = now - now % MINUTE + MINUTE
    start = end - -(-window_s * 1_000_000 // MINUTE) * MINUTE
    chosen = [
        i
        for i in await tx.reads.instruments()
        if normal_asset(i.base) == wanted_base and quote_matches(wanted_quote, i.quote)
    ]
    latest = {p.instrument.id: p for p in await tx.reads.latest([i.id for i in chosen])}
    venues: list[VenuePrice] = []
    for inst in chosen:
        last = latest.get(inst.id)
        if last is None:
            continue
        rows = await tx.reads.rollup_columns(inst.id, MINUTE, start, end)
        venues.append(
            VenuePrice(
                inst,
                last.price,
                last.ts,
                sum(r[5] for r in rows),
                sum(r[6] for r in rows),
                sum(r[7] for r in rows),
            )
        )
    venues.sort(key=lambda v: (-v.price, v.instrument.exchange, v.instrument.symbol))
    real = [v for v in venues if not v.instrument.simulated]
    return Comparison(wanted_base, wanted_quote, start, end, venues, real or venues)
