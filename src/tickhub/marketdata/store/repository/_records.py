"""What the market-data reads return besides the events' own types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

_PRICE_ROW = np.dtype([("id", np.int64), ("ts", np.int64), ("price", np.float64)])


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


@dataclass(frozen=True, slots=True)
class PriceColumns:
    """(trade id, time, price) of trades as three columns, in (time, trade id) order: what
    a streamed listing encodes a column at a time, without a tuple per row."""

    ids: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    prices: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def of_rows(cls, rows: Sequence[tuple[Any, ...]]) -> PriceColumns:
        """The columns of (trade id, time, price) tuples."""
        table = np.fromiter(rows, dtype=_PRICE_ROW, count=len(rows))
        return cls(table["id"], table["ts"], table["price"])

    @classmethod
    def concat(cls, parts: Sequence[PriceColumns]) -> PriceColumns:
        """The parts one after the other (the only one itself, none: no rows)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.of_rows([])
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__slots__))

    def in_order(self) -> PriceColumns:
        """These columns in (time, trade id) order: themselves when they already are."""
        t, i = self.times, self.ids
        if bool(np.all((t[1:] > t[:-1]) | ((t[1:] == t[:-1]) & (i[1:] > i[:-1])))):
            return self
        order = np.lexsort((i, t))
        return PriceColumns(i[order], t[order], self.prices[order])
