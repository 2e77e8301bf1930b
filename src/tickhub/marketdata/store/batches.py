"""What the writer holds of a trade batch: waiting for its transaction (`Waiting`), then
folded into its candle deltas at every rollup resolution (`Prepared`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.candles import ROLLUPS, Candle, aggregate_trades, rollup


@dataclass(eq=False, slots=True)
class Waiting:
    """A batch waiting to be written: its trades unique, in id order."""

    batch: TradeBatch
    inst_id: int
    trades: list[Trade]
    done: asyncio.Future[int] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """Trades (unique, by id) with their candle deltas at every rollup resolution."""

    trades: list[Trade]
    deltas: tuple[list[Candle], ...]
    lo: int
    hi: int
    newest: Trade

    @classmethod
    def of(cls, trades: Sequence[Trade]) -> Prepared:
        by_res = [aggregate_trades(trades, ROLLUPS[0])]
        for res in ROLLUPS[1:]:
            by_res.append(rollup(by_res[-1].values(), res))
        deltas = tuple(sorted(d.values(), key=lambda c: c.start) for d in by_res)
        return cls(
            list(trades),
            deltas,
            trades[0].trade_id,
            trades[-1].trade_id,
            max(trades, key=lambda t: (t.ts, t.trade_id)),
        )
