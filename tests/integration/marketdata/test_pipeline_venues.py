"""Coinbase and a ccxt venue end to end, beside Binance: connector → tracker → bus →
writer → database, through a dropped feed, ids only REST has, repeats, a heartbeat and a
429: every trade stored exactly once under its venue. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fixtures.fake_coinbase import FakeCoinbase, trades_path
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.ccxt import CcxtSource
from tickhub.marketdata.ingest.coinbase import CoinbaseSource
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.repository import MarketDataReads
from tickhub.runtime import Runtime
from tickhub.settings import CcxtSettings, CoinbaseSettings

BTC = "BTC-USD"
FAST: dict[str, Any] = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05}


class BusObserver:
    """Sees every trade batch on the bus, by exchange, so the test can wait for ids."""

    def __init__(self) -> None:
        self.ids: dict[str, set[int]] = {}
        self.changed = asyncio.Condition()

    async def handle(self, _topic: str, msg: object) -> None:
        if isinstance(msg, TradeBatch):
            self.ids.setdefault(msg.exchange, set()).update(t.trade_id for t in msg.trades)
            async with self.changed:
                self.changed.notify_all()

    async def wait_for(self, exchange: str, ids: range, within_s: float = 10) -> None:
        wanted = set(ids)

        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: wanted <= self.ids.get(exchange, set()))

        await asyncio.wait_for(wait(), within_s)


async def test_coinbase_and_ccxt_trades_stored_once_each(runtime: Runtime) -> None:
    assert runtime.writer is not None
    bus = runtime.bus
    observer = BusObserver()
    for _ in range(2):
        await bus.subscribe("trades.#", runtime.writer.handle, group="writer")
    await bus.subscribe("rejects.#", runtime.writer.handle, group="writer")
    await bus.subscribe("trades.#", observer.handle)
    tracker = Tracker(bus, max_trades=7, max_delay_s=0.01)

    async with FakeCoinbase() as coinbase, FakeCoinbase() as behind_ccxt:
        behind_ccxt.record(BTC, range(1, 21))
        urls = {"public": behind_ccxt.rest_url, "ws": behind_ccxt.ws_url}
        tracker.start(
            [
                CoinbaseSource(
                    CoinbaseSettings(ws_url=coinbase.ws_url, rest_url=coinbase.rest_url, **FAST),
                    [BTC],
                ),
                CcxtSource(
                    CcxtSettings(urls=urls, websocket=False, poll_interval_s=0.02, **FAST),
                    "coinbaseexchange",
                    ["BTC/USD"],
                ),
            ]
        )
        try:
            await coinbase.wait_for_subscriptions(1)
            await coinbase.push(BTC, range(1, 11))
            coinbase.record(BTC, range(11, 41))  # only REST has these
            coinbase.fail_next(trades_path(BTC), 429, retry_after=0.05)
            await coinbase.push(BTC, range(41, 46))
            await coinbase.push(BTC, [44, 45])  # repeated
            await coinbase.send_raw("{not json")
            await coinbase.drop_connections()
            coinbase.record(BTC, range(46, 61))  # traded while the feed was down
            await coinbase.wait_for_subscriptions(2)  # `last_match` (60) shows the gap
            coinbase.record(BTC, range(61, 66))
            await coinbase.heartbeat(BTC)  # says 65
            await observer.wait_for("coinbaseexchange", range(1, 21))
            behind_ccxt.record(BTC, range(21, 31))
            await observer.wait_for("coinbase", range(1, 66))
            await observer.wait_for("coinbaseexchange", range(1, 31))
        finally:
            await tracker.stop()
    await bus.join()

    async with runtime.engine.connect() as conn:
        repo = MarketDataReads(conn)
        for exchange, ids in (("coinbase", range(1, 66)), ("coinbaseexchange", range(1, 31))):
            (inst,) = await repo.instruments(exchange)
            assert (inst.symbol, inst.base, inst.quote) == ("BTCUSD", "BTC", "USD")
            stored = await repo.trades(inst.id, None, None)
            assert [t.trade_id for t in stored] == list(ids), exchange
            ranges = await repo.coverage(inst.id)
            assert [(r.first_id, r.last_id) for r in ranges] == [(ids[0], ids[-1])]
    assert tracker.rejected == 1
