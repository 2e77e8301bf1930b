"""The spine end to end against a local fake Binance: connector → tracker → bus → writer →
database. The fake drops the connection, skips ids that only REST has, repeats ids and
sends malformed frames; every id must be stored exactly once and the candles must equal a
recomputation from the stored trades. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from tests.fixtures.fake_binance import FakeBinance
from tests.unit.marketdata.test_candles import close_enough, naive, shape
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.binance.source import BinanceSource
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.candles import ROLLUPS
from tickhub.marketdata.store.models import RejectedFrameRow
from tickhub.marketdata.store.repository import MarketDataReads
from tickhub.runtime import Runtime
from tickhub.settings import BinanceSettings


class BusObserver:
    """Sees every trade batch on the bus, so the test can wait for ids to be published."""

    def __init__(self) -> None:
        self.ids: dict[str, set[int]] = {}
        self.changed = asyncio.Condition()

    async def handle(self, _topic: str, msg: object) -> None:
        if isinstance(msg, TradeBatch):
            self.ids.setdefault(msg.symbol, set()).update(t.trade_id for t in msg.trades)
            async with self.changed:
                self.changed.notify_all()

    async def wait_for(self, symbol: str, ids: range, within_s: float = 10) -> None:
        wanted = set(ids)

        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: wanted <= self.ids.get(symbol, set()))

        await asyncio.wait_for(wait(), within_s)


async def test_every_id_stored_exactly_once_through_faults(runtime: Runtime) -> None:
    assert runtime.writer is not None
    bus = runtime.bus
    observer = BusObserver()
    await bus.subscribe("trades.#", runtime.writer.handle, group="writer")
    await bus.subscribe("trades.#", runtime.writer.handle, group="writer")
    await bus.subscribe("rejects.#", runtime.writer.handle, group="writer")
    await bus.subscribe("trades.#", observer.handle)
    tracker = Tracker(bus, max_trades=7, max_delay_s=0.01)

    async with FakeBinance() as fake:
        settings = BinanceSettings(
            ws_url=fake.ws_url, rest_url=fake.rest_url, backoff_initial_s=0.01, backoff_max_s=0.05
        )
        tracker.start([BinanceSource(settings, ["BTCUSDT", "ETHUSDT"], resume={"BTCUSDT": 0})])
        try:
            await fake.wait_for_connections(1)
            await fake.push("BTCUSDT", range(1, 21))
            fake.record("BTCUSDT", range(21, 61))  # skipped by the stream: REST only
            await fake.push("BTCUSDT", range(61, 81))
            await fake.send_raw("{not json")
            await fake.send_raw(json.dumps({"stream": "btcusdt@trade", "data": {"e": "trade"}}))
            await fake.push("BTCUSDT", range(70, 81))  # repeated ids
            await fake.push("ETHUSDT", range(1000, 1010))
            await observer.wait_for("BTCUSDT", range(1, 81))

            await fake.drop_connections()
            fake.record("BTCUSDT", range(81, 121))  # traded while disconnected
            await fake.wait_for_connections(2)
            await fake.push("BTCUSDT", range(121, 131))
            await fake.push("ETHUSDT", range(1010, 1015))
            await observer.wait_for("BTCUSDT", range(1, 131))
            await observer.wait_for("ETHUSDT", range(1000, 1015))
        finally:
            await tracker.stop()
    await bus.join()
    # at-least-once delivery: the same trades delivered again change nothing
    async with runtime.engine.connect() as conn:
        repo = MarketDataReads(conn)
        (btc,) = [i for i in await repo.instruments("binance") if i.symbol == "BTCUSDT"]
        replay = await repo.trades(btc.id, None, None)
    await bus.publish("trades.binance.BTCUSDT", TradeBatch("binance", "BTCUSDT", tuple(replay)))
    await bus.join()

    async with runtime.engine.connect() as conn:
        repo = MarketDataReads(conn)
        infos = {i.symbol: i for i in await repo.instruments("binance")}
        assert (infos["BTCUSDT"].base, infos["BTCUSDT"].quote) == ("BTC", "USDT")
        for symbol, ids in (("BTCUSDT", range(1, 131)), ("ETHUSDT", range(1000, 1015))):
            inst = infos[symbol]
            stored = await repo.trades(inst.id, None, None)
            assert [t.trade_id for t in stored] == list(ids)  # each id once, none missing
            for res in ROLLUPS:
                got = {c.start: shape(c) for c in await repo.candles(inst.id, res, 0, 2**62)}
                want = naive(stored, res)
                assert got.keys() == want.keys()
                assert all(close_enough(got[k], want[k]) for k in got)
            ranges = await repo.coverage(inst.id)
            assert [(r.first_id, r.last_id) for r in ranges] == [(ids[0], ids[-1])]
        (latest,) = [x for x in await repo.latest() if x.instrument.symbol == "BTCUSDT"]
        assert latest.trade_id == 130
        rejected = (await conn.execute(select(RejectedFrameRow.raw))).scalars().all()
    assert len(rejected) == 2
    assert "{not json" in rejected
    assert tracker.rejected == 2
