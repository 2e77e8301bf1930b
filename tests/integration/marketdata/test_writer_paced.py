"""A paced writer (`write_interval_s`): the batches that arrive within an interval go into
one transaction on SQLite, and what is stored is exactly what an unpaced writer stores
batch by batch. Runs on SQLite and PostgreSQL (where writes are not paced)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.bus.test_rabbit_bus import Rabbits, amqp_url  # noqa: F401 - fixture
from tests.integration.marketdata.test_writer import make_trades, snapshot
from tickhub.bootstrap import start_writer
from tickhub.bus.memory import MemoryBus
from tickhub.common.looplag import Slices
from tickhub.db import create_engine
from tickhub.marketdata.events import CandleUpdate, TradeBatch
from tickhub.marketdata.store import writer as writer_module
from tickhub.marketdata.store.models import TradeRow
from tickhub.marketdata.store.repository import MarketDataReads
from tickhub.marketdata.store.writer import SQLITE_CONSUMERS, Writer
from tickhub.migrate import upgrade
from tickhub.settings import Settings

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBBTC")


def interleaved_batches() -> list[TradeBatch]:
    """Small batches of three instruments, interleaved, with replays and an overlap."""
    per_symbol = {s: make_trades(120, seed=n) for n, s in enumerate(SYMBOLS)}
    out = []
    for i in range(0, 120, 5):
        for s in SYMBOLS:
            out.append(TradeBatch("sim", s, tuple(per_symbol[s][i : i + 5])))
    out.append(TradeBatch("sim", "ETHUSDT", tuple(per_symbol["ETHUSDT"][40:47])))  # replay
    out.append(TradeBatch("sim", "BTCUSDT", tuple(per_symbol["BTCUSDT"][118:])))  # a tail replayed
    return out


async def test_paced_writes_store_every_trade_once_as_unpaced_writes_do(
    engine: AsyncEngine, tmp_path: pytest.TempPathFactory
) -> None:
    batches = interleaved_batches()
    paced = Writer(engine, write_interval_s=1.0)
    for s in SYMBOLS:  # instruments known, so that the writes below wait together
        await paced.instrument_id(TradeBatch("sim", s, ()))
    first, rest = batches[0], batches[1:]
    assert await paced.write(first) == 5
    before = paced.stats.transactions

    news = await asyncio.gather(*(paced.write(b) for b in rest))

    # the reference: each batch alone, in order, unpaced, in a database of its own
    reference = create_engine(f"sqlite+aiosqlite:///{tmp_path}/reference.db")
    try:
        await upgrade(reference)
        plain = Writer(reference)
        want = [await plain.write(b) for b in batches]
        if engine.dialect.name == "sqlite":
            assert [5, *news] == want  # one transaction, the batches in their order
        else:
            # concurrent transactions: a trade two batches hold (the replays) counts as
            # new for whichever stored it first; the total is the same
            assert 5 + sum(news) == sum(want)
        got, expected = [
            tuple(sorted(part, key=repr) for part in await snapshot(e)) for e in (engine, reference)
        ]
        trades, candles, latest, ranges = got
        assert (trades, latest, ranges) == (expected[0], expected[2], expected[3])
        # candles: the same rows; sums (volumes, the price sums) to the last bits only, as
        # they add the same trades in another grouping
        assert len(candles) == len(expected[1])
        for row, want_row in zip(candles, expected[1], strict=True):
            exact = [v for v in row if not isinstance(v, float)]
            assert exact == [v for v in want_row if not isinstance(v, float)]
            assert row[3:7] == want_row[3:7]  # open, high, low, close
            assert row == pytest.approx(want_row, rel=1e-12)
    finally:
        await reference.dispose()
    assert paced.stats.new == plain.stats.new == 3 * 120
    if engine.dialect.name == "sqlite":
        # the first batch began an interval: every later one went into the next transaction
        assert paced.stats.transactions - before == 1
        assert plain.stats.transactions == len(batches) - 2  # the last two store nothing


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # paced on SQLite only
async def test_a_batch_cancelled_while_paced_is_left_to_the_bus(engine: AsyncEngine) -> None:
    """A handler cancelled while its batch waits out the interval takes the batch with it
    (the bus delivers it again); the batches waiting beside it are still written."""
    writer = Writer(engine, write_interval_s=1.0)
    a, b = (TradeBatch("sim", s, tuple(make_trades(10, seed=n))) for n, s in enumerate(SYMBOLS[:2]))
    for batch in (a, b):
        await writer.instrument_id(batch)
    await writer.write(TradeBatch("sim", "BNBBTC", tuple(make_trades(3))))  # starts an interval
    first = asyncio.create_task(writer.write(a))
    second = asyncio.create_task(writer.write(b))
    await asyncio.sleep(0)  # both wait: `first` out the interval, `second` for the lock
    first.cancel()
    assert await second == 10
    with pytest.raises(asyncio.CancelledError):
        await first
    assert writer.stats.new == 3 + 10
    assert await writer.write(a) == 10  # delivered again: stored now


async def test_new_instruments_seen_together_are_each_created_once(engine: AsyncEngine) -> None:
    """At a start, many batches of instruments the writer does not know yet arrive at
    once: every instrument is created once and every trade stored."""
    writer = Writer(engine, write_interval_s=0.1)
    symbols = [f"S{i:03d}USDT" for i in range(20)]
    trades = make_trades(50)
    batches = [
        TradeBatch("sim", s, tuple(trades[k : k + 10]), simulated=True)
        for k in range(0, 50, 10)
        for s in symbols
    ]
    news = await asyncio.gather(*(writer.write(b) for b in batches))
    assert news == [10] * len(batches)
    async with engine.connect() as conn:
        instruments = await MarketDataReads(conn).instruments()
        stored = (await conn.execute(select(func.count()).select_from(TradeRow))).scalar_one()
    assert sorted(i.symbol for i in instruments) == symbols
    assert stored == 50 * len(symbols)


@pytest.mark.rabbitmq
async def test_on_rabbitmq_the_writer_is_not_paced_and_takes_few_channels(
    tmp_path: Path,
    amqp_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    # A paced writer waits with an interval's batches as that many consumers: tasks on the
    # in-process bus, but a broker channel each on RabbitMQ. There it writes unpaced.
    url = f"sqlite:///{tmp_path / 'tickhub.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=url, sources=[])
    rabbits = Rabbits(amqp_url)
    memory = MemoryBus()
    try:
        bus = await rabbits.bus()
        writer = await start_writer(settings, engine, bus)
        queue = bus.group_queue("trades.#", "writer")
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            assert declared.declaration_result.consumer_count == SQLITE_CONSUMERS
        batch = TradeBatch("sim", "BTCUSDT", tuple(make_trades(10, seed=1)))
        await bus.publish(batch.topic, batch)
        await bus.join()
        assert writer.stats.new == 10
        await memory.start()
        paced = await start_writer(settings, engine, memory)  # the in-process bus: paced
        assert paced.consumers(settings.writer_concurrency) > SQLITE_CONSUMERS
    finally:
        await memory.close()
        await rabbits.cleanup()
        await engine.dispose()


async def test_a_group_folded_in_many_steps_stores_and_announces_all_it_holds(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer yields to the loop while it folds a group's instruments and announces
    their candles (`Slices`); made to yield at every instrument, it stores what the
    unpaced writer stores batch by batch, and announces every instrument."""
    steps = 0

    class EveryItem(Slices):
        def __init__(self) -> None:
            super().__init__(slice_s=0.0)

        async def step(self) -> None:
            nonlocal steps
            steps += 1
            await super().step()

    monkeypatch.setattr(writer_module, "Slices", EveryItem)
    announced: list[CandleUpdate] = []

    async def publish(_topic: str, message: object) -> None:
        assert isinstance(message, CandleUpdate)
        announced.append(message)

    batches = interleaved_batches()
    paced = Writer(engine, write_interval_s=1.0, publish=publish)
    for s in SYMBOLS:
        await paced.instrument_id(TradeBatch("sim", s, ()))
    await paced.write(batches[0])
    news = await asyncio.gather(*(paced.write(b) for b in batches[1:]))
    assert steps >= 2 * len(SYMBOLS)  # each instrument folded, then announced, in a step

    reference = create_engine(f"sqlite+aiosqlite:///{tmp_path}/reference.db")
    try:
        await upgrade(reference)
        plain = Writer(reference)
        want = [await plain.write(b) for b in batches]
        assert 5 + sum(news) == sum(want)
        got, expected = [
            tuple(sorted(part, key=repr) for part in await snapshot(e)) for e in (engine, reference)
        ]
        assert (got[0], got[2], got[3]) == (expected[0], expected[2], expected[3])
        assert len(got[1]) == len(expected[1])
    finally:
        await reference.dispose()
    assert {u.symbol for u in announced} == set(SYMBOLS)
