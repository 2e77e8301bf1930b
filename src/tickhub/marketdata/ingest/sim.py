"""A simulated market (exchange `sim`): a seeded random walk with consecutive trade ids.

For demos, tests, benchmarks and machines without internet. Everything it produces is
labelled simulated (the exchange row, the API, the log).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator, Sequence

from tickhub.common.time import now_us
from tickhub.marketdata.events import SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.normalize import split_symbol
from tickhub.marketdata.ingest.source import TradeSink

START_PRICES = {"BTC": 60_000.0, "ETH": 3_000.0, "BNB": 600.0, "SOL": 150.0, "XRP": 0.6}


class SimMarket:
    """Generates trades for many instruments; usable without an event loop (benchmarks)."""

    def __init__(self, symbols: Sequence[str], *, seed: int = 42, first_id: int = 1) -> None:
        self._rng = random.Random(seed)
        self.symbols = list(symbols)
        self._price: dict[str, float] = {}
        self._next_id = dict.fromkeys(self.symbols, first_id)
        for s in self.symbols:
            base, quote = split_symbol(s)
            p = START_PRICES.get(base, 10.0)
            if quote in START_PRICES:  # e.g. BNBBTC
                p /= START_PRICES[quote]
            self._price[s] = p

    def resume(self, symbol: str, last_id: int) -> None:
        """Continue the ids of `symbol` after `last_id` (a restart over a stored history)."""
        if symbol in self._next_id:
            self._next_id[symbol] = last_id + 1

    def trades(self, symbol: str, n: int, start_ts: int, end_ts: int) -> list[Trade]:
        """`n` trades of `symbol` spread over [start_ts, end_ts)."""
        rng, price = self._rng, self._price[symbol]
        tid = self._next_id[symbol]
        span = max(end_ts - start_ts, 1)
        out = []
        for k in range(n):
            price *= math.exp(rng.gauss(0.0, 0.0004))
            qty = round(rng.expovariate(4.0) + 0.0001, 6)
            ts = start_ts + span * k // n
            out.append(Trade(tid, ts, float(f"{price:.8g}"), qty, rng.random() < 0.5))
            tid += 1
        self._price[symbol] = price
        self._next_id[symbol] = tid
        return out

    def stream(self, per_batch: int, start_ts: int, step_us: int) -> Iterator[TradeBatch]:
        """An endless stream of batches, round-robin over the symbols (for benchmarks)."""
        ts = start_ts
        while True:
            for s in self.symbols:
                base, quote = split_symbol(s)
                yield TradeBatch(
                    "sim",
                    s,
                    tuple(self.trades(s, per_batch, ts, ts + step_us)),
                    base,
                    quote,
                    simulated=True,
                )
            ts += step_us


class SimSource:
    name = "sim"
    exchange = "sim"
    simulated = True

    def __init__(
        self,
        symbols: Sequence[str],
        *,
        rate: float = 20.0,
        seed: int = 42,
        batch_interval_s: float = 0.25,
        first_ids: dict[str, int] | None = None,
    ) -> None:
        self._market = SimMarket(symbols, seed=seed)
        for s, last in (first_ids or {}).items():
            self._market.resume(s, last)
        self._rate = rate
        self._interval = batch_interval_s

    async def run(self, sink: TradeSink) -> None:
        await sink.status(SourceStatus(self.name, SourceState.SIMULATED, "simulated market"))
        # what each instrument owes starts staggered: at rates below one trade per
        # interval the instruments then trade in turn, not all in the same interval
        symbols = self._market.symbols
        owed = {s: k / len(symbols) for k, s in enumerate(symbols)}
        pairs = {s: split_symbol(s) for s in self._market.symbols}
        last = now_us()
        while True:
            await asyncio.sleep(self._interval)
            now = now_us()
            for s in self._market.symbols:
                owed[s] += self._rate * (now - last) / 1_000_000
                n = int(owed[s])
                if n <= 0:
                    continue
                owed[s] -= n
                base, quote = pairs[s]
                trades = self._market.trades(s, n, last, now)
                await sink.trades(TradeBatch("sim", s, tuple(trades), base, quote, simulated=True))
            last = now
