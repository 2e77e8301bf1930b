from __future__ import annotations

import asyncio

from tickhub.bus import Handler, MemoryBus, topic_matches


def test_topic_patterns() -> None:
    assert topic_matches("trades.#", "trades.binance.BTCUSDT")
    assert topic_matches("trades.*.BTCUSDT", "trades.binance.BTCUSDT")
    assert not topic_matches("trades.*", "trades.binance.BTCUSDT")
    assert topic_matches("#", "status.sim")
    assert not topic_matches("candles.#", "trades.binance.BTCUSDT")


async def test_groups_compete_and_ungrouped_subscribers_each_get_everything() -> None:
    bus = MemoryBus()
    got: dict[str, list[int]] = {"w1": [], "w2": [], "view": []}

    def collector(name: str) -> Handler:
        async def handle(_topic: str, msg: object) -> None:
            assert isinstance(msg, int)
            got[name].append(msg)

        return handle

    await bus.subscribe("trades.#", collector("w1"), group="writer")
    await bus.subscribe("trades.#", collector("w2"), group="writer")
    await bus.subscribe("trades.#", collector("view"))
    for i in range(100):
        await bus.publish(f"trades.x.S{i % 3}", i)
    await bus.close()
    assert sorted(got["w1"] + got["w2"]) == list(range(100))
    assert got["view"] == list(range(100))


async def test_failing_handler_is_retried_then_dead_lettered_and_others_go_on() -> None:
    bus = MemoryBus(max_retries=2)
    attempts: dict[int, int] = {}
    ok: list[int] = []

    async def handle(_topic: str, msg: object) -> None:
        assert isinstance(msg, int)
        attempts[msg] = attempts.get(msg, 0) + 1
        if msg == 3:
            raise ValueError("poison")
        ok.append(msg)

    await bus.subscribe("t", handle, group="g")
    for i in range(6):
        await bus.publish("t", i)
    await bus.close()
    assert ok == [0, 1, 2, 4, 5]
    assert attempts[3] == 3
    assert bus.stats.dead_lettered == 1
    assert bus.stats.dead_letters[0].message == 3


async def test_live_subscriber_drops_oldest_instead_of_blocking() -> None:
    bus = MemoryBus(maxsize=4)
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(_topic: str, msg: object) -> None:
        await release.wait()
        assert isinstance(msg, int)
        seen.append(msg)

    await bus.subscribe("t", slow, live=True)
    for i in range(50):  # would block forever if the live queue applied back-pressure
        await asyncio.wait_for(bus.publish("t", i), 1)
    release.set()
    await bus.close()
    assert bus.stats.dropped_live > 0
    assert seen[-1] == 49


async def test_a_declared_group_keeps_messages_until_its_first_consumer() -> None:
    bus = MemoryBus()
    await bus.declare("trades.#", group="writer")
    for i in range(5):
        await bus.publish("trades.x.y", i)
    got: list[int] = []

    async def handle(_topic: str, msg: object) -> None:
        assert isinstance(msg, int)
        got.append(msg)

    await bus.subscribe("trades.#", handle, group="writer")
    await bus.close()
    assert got == [0, 1, 2, 3, 4]


async def test_handlers_may_publish_while_the_bus_closes() -> None:
    bus = MemoryBus()
    echoed: list[object] = []

    async def echo(_topic: str, msg: object) -> None:
        await bus.publish("echo", msg)

    async def keep(_topic: str, msg: object) -> None:
        echoed.append(msg)

    await bus.subscribe("in", echo, group="a")
    await bus.subscribe("echo", keep, group="b")
    await bus.publish("in", 1)
    await bus.close()
    assert echoed == [1]
    assert bus.stats.dead_lettered == 0


async def test_tracker_keeps_trades_when_a_publish_fails() -> None:
    from tickhub.marketdata.events import Trade, TradeBatch
    from tickhub.marketdata.ingest.tracker import Tracker

    class FlakyBus(MemoryBus):
        def __init__(self) -> None:
            super().__init__()
            self.fail = True

        async def publish(self, topic: str, message: object) -> None:
            if self.fail and isinstance(message, TradeBatch):
                raise ConnectionError("broker down")
            await super().publish(topic, message)

    bus = FlakyBus()
    got: list[int] = []

    async def keep(_topic: str, msg: object) -> None:
        assert isinstance(msg, TradeBatch)
        got.extend(t.trade_id for t in msg.trades)

    await bus.subscribe("trades.#", keep, group="writer")
    tracker = Tracker(bus, max_trades=2, max_delay_s=60)
    for i in range(1, 6):  # crosses max_trades twice while the bus is down
        await tracker.trades(TradeBatch("x", "S", (Trade(i, i, 1.0, 1.0),)))
    assert got == []
    bus.fail = False
    await tracker.flush()
    await bus.close()
    assert got == [1, 2, 3, 4, 5]
