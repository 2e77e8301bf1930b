"""The tracker keeps its sources alive: a source that fails, even while the bus refuses
its status events, is restarted; nothing a source reports is lost while the bus is down."""

from __future__ import annotations

import asyncio

from tickhub.bus.memory import MemoryBus
from tickhub.marketdata.events import (
    RejectedFrame,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)
from tickhub.marketdata.ingest.source import TradeSink
from tickhub.marketdata.ingest.tracker import Tracker


class OutageBus(MemoryBus):
    """A memory bus whose publish fails while `down` is set (a broker outage)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def publish(self, topic: str, message: object) -> None:
        if self.down:
            raise ConnectionError("broker down")
        await super().publish(topic, message)


class FailingSource:
    """Reports a status and a rejected frame, then fails; on its second run it waits."""

    name = "flaky"
    exchange = "flaky"
    simulated = False

    def __init__(self) -> None:
        self.runs = 0
        self.second_run = asyncio.Event()

    async def run(self, sink: TradeSink) -> None:
        self.runs += 1
        if self.runs >= 2:
            self.second_run.set()
            await asyncio.Event().wait()
        await sink.reject(RejectedFrame("flaky", "bad frame", "{"))
        await sink.status(SourceStatus("flaky", SourceState.CONNECTED, "up"))
        raise OSError("connection reset")


async def test_a_source_failing_during_a_bus_outage_is_restarted() -> None:
    bus = OutageBus()
    tracker = Tracker(bus, max_delay_s=0.01)  # restarts after the default backoff (1 s)
    source = FailingSource()
    tracker.start([source])
    await asyncio.wait_for(source.second_run.wait(), 30)
    assert not tracker._tasks["flaky"].done()
    assert tracker.restarts["flaky"] == 1
    bus.down = False
    await tracker.stop()
    assert tracker.statuses["flaky"].state is SourceState.STOPPED  # as last reported


async def test_statuses_and_rejects_refused_by_the_bus_are_published_later() -> None:
    bus = OutageBus()
    got: list[object] = []

    async def keep(_topic: str, msg: object) -> None:
        got.append(msg)

    await bus.subscribe("rejects.#", keep, group="writer")
    await bus.subscribe("status.#", keep, group="status")
    tracker = Tracker(bus, max_delay_s=60)
    await tracker.reject(RejectedFrame("x", "bad", "{"))  # does not raise to the source
    await tracker.status(SourceStatus("x", SourceState.CONNECTED, "up"))
    assert got == []
    bus.down = False
    await tracker.flush()
    await bus.close()
    assert [type(m).__name__ for m in got] == ["RejectedFrame", "SourceStatus"]


async def test_the_buffer_is_bounded_and_pushes_back_on_the_source() -> None:
    bus = OutageBus()
    tracker = Tracker(bus, max_trades=2, max_delay_s=60, max_buffered=4)
    for i in range(1, 5):
        await tracker.trades(TradeBatch("x", "S", (Trade(i, i, 1.0, 1.0),)))
    blocked = asyncio.create_task(tracker.trades(TradeBatch("x", "S", (Trade(5, 5, 1.0, 1.0),))))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not blocked.done()
    assert tracker.backpressure_waits == 1
    bus.down = False
    got: list[int] = []

    async def keep(_topic: str, msg: object) -> None:
        assert isinstance(msg, TradeBatch)
        got.extend(t.trade_id for t in msg.trades)

    await bus.subscribe("trades.#", keep, group="writer")
    await tracker.flush()
    await asyncio.wait_for(blocked, 10)
    await tracker.flush()
    await bus.close()
    assert got == [1, 2, 3, 4, 5]


async def test_the_buffer_and_restarts_are_in_the_metrics() -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from starlette.datastructures import State

    from tickhub.gateway._metrics import PipelineCollector
    from tickhub.marketdata.live.status import PipelineStatus

    bus = OutageBus()
    tracker = Tracker(bus, max_trades=10, max_delay_s=60)
    await tracker.trades(TradeBatch("x", "S", (Trade(1, 1, 1.0, 1.0), Trade(2, 2, 1.0, 1.0))))
    await tracker.reject(RejectedFrame("x", "bad", "{"))
    tracker.restarts["x"] = 2

    class Parts:
        writer = None
        live = None

        def __init__(self, t: Tracker) -> None:
            self.tracker = t

    state = State()
    state.bus = bus
    state.pipeline = PipelineStatus(Parts(tracker))
    registry = CollectorRegistry()
    registry.register(PipelineCollector(state))
    text = generate_latest(registry).decode()
    assert "tickhub_tracker_buffered 3.0" in text
    assert "tickhub_source_restarts_total 2.0" in text
    assert "tickhub_tracker_backpressure_waits_total 0.0" in text
