"""What the market-data reads return besides the events' own types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    id: int
    exchange: str
    symbol: str
    base: str
    quote: str
    simulated: bool


@dataclass(frozen=True, slots=True)
class Latest:
    instrument: InstrumentInfo
    trade_id: int
    ts: int
    price: float
    qty: float
