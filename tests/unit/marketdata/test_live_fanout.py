"""The live hub's fan-out: each message encoded once whatever the number of subscribers,
every trade delivered once to every subscriber, and a client that cannot keep up still
cut off. Fake connections, no network, no clock."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from tickhub.bus import MemoryBus
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.live.hub import LiveClient, LiveHub, encode
from tickhub.websocket import CLOSE_POLICY


class FakeConnection:
    """Records what is sent; `arrived` is set once `expect` messages have been sent."""

    def __init__(self, expect: int = 0) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.expect = expect
        self.arrived = asyncio.Event()

    async def send_text(self, data: str) -> None:
        self.sent.append(data)
        if self.expect and len(self.sent) >= self.expect:
            self.arrived.set()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code


class StuckConnection(FakeConnection):
    """A client that never reads: its first send never completes."""

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()


class CountingEncoder:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, message: BaseModel) -> str:
        self.calls += 1
        return encode(message)


def batch(symbol: str, ids: list[int], exchange: str = "sim") -> TradeBatch:
    trades = tuple(Trade(i, 1_700_000_000_000_000 + i, 100.0 + i, 1.0, i % 2 == 0) for i in ids)
    return TradeBatch(exchange, symbol, trades, simulated=True)


def subscribe(hub: LiveHub, conn: FakeConnection, instruments: str = "sim:*") -> LiveClient:
    client = hub.connect(conn)
    client.handle({"op": "subscribe", "instruments": [instruments], "channels": ["trades"]})
    return client


def trades_of(conn: FakeConnection) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for text in conn.sent:
        msg = json.loads(text)
        if msg["channel"] == "trades":
            out.extend((msg["symbol"], t["trade_id"]) for t in msg["trades"])
    return out


@pytest.mark.parametrize("subscribers", [1, 10, 200])
async def test_a_message_is_encoded_once_whatever_the_number_of_subscribers(
    subscribers: int,
) -> None:
    encoder = CountingEncoder()
    hub = LiveHub(MemoryBus(), encoder=encoder, queue_size=8)
    conns = [FakeConnection(expect=2) for _ in range(subscribers)]  # subscriptions + trades
    for conn in conns:
        subscribe(hub, conn)
    other = FakeConnection()
    subscribe(hub, other, "binance:*")  # wants none of it: no encode on its account

    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [1, 2, 3]))

    assert encoder.calls == 1
    for conn in conns:
        await conn.arrived.wait()
    texts = {conn.sent[-1] for conn in conns}
    assert len(texts) == 1  # the same text for all
    assert trades_of(conns[0]) == [("BTCUSDT", 1), ("BTCUSDT", 2), ("BTCUSDT", 3)]
    assert trades_of(other) == []
    await hub.stop()


async def test_a_message_nobody_wants_is_not_encoded() -> None:
    encoder = CountingEncoder()
    hub = LiveHub(MemoryBus(), encoder=encoder)
    subscribe(hub, FakeConnection(), "binance:BTCUSDT")
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [1]))
    assert encoder.calls == 0
    await hub.stop()


async def test_subscribing_later_is_seen_by_the_next_message() -> None:
    hub = LiveHub(MemoryBus())
    first = FakeConnection()
    subscribe(hub, first, "sim:ETHUSDT")
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [1]))  # fills the index
    late = FakeConnection(expect=3)
    client = subscribe(hub, late, "sim:ETHUSDT")
    client.handle({"op": "subscribe", "instruments": ["sim:BTCUSDT"]})
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [2]))
    await late.arrived.wait()
    assert trades_of(late) == [("BTCUSDT", 2)]
    client.handle({"op": "unsubscribe", "instruments": ["sim:BTCUSDT"]})
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [3]))
    assert trades_of(late) == [("BTCUSDT", 2)]
    await hub.stop()


async def test_every_subscriber_gets_every_trade_once_in_order_through_the_bus() -> None:
    bus = MemoryBus()
    await bus.start()
    hub = LiveHub(bus, queue_size=1024)
    await hub.start()
    symbols = [f"S{i:03d}USDT" for i in range(20)]
    # per symbol: 1..50 in batches of 5, each batch also repeating the one before
    # (at-least-once delivery and replays): every id must arrive exactly once
    batches: list[TradeBatch] = []
    for lo in range(1, 51, 5):
        for s in symbols:
            batches.append(batch(s, [*range(max(1, lo - 5), lo + 5)]))
    expected = {(s, i) for s in symbols for i in range(1, 51)}
    messages = len(batches)  # every batch carries 5 new trades
    conns = [FakeConnection(expect=1 + messages) for _ in range(50)]
    for conn in conns:
        subscribe(hub, conn)
    for b in batches:
        await bus.publish(b.topic, b)
    await bus.join()
    for conn in conns:
        await conn.arrived.wait()
        got = trades_of(conn)
        assert len(got) == len(expected)
        assert set(got) == expected
        for s in symbols:
            ids = [i for sym, i in got if sym == s]
            assert ids == sorted(ids)
    assert hub.stats.dropped_slow == 0
    assert bus.stats.dropped_live == 0
    await hub.stop()
    await bus.close()


async def test_a_client_that_cannot_keep_up_is_closed_and_the_others_go_on() -> None:
    hub = LiveHub(MemoryBus(), queue_size=4, send_timeout_s=3600)
    stuck = StuckConnection()
    slow = subscribe(hub, stuck)
    steady = FakeConnection()
    subscribe(hub, steady)
    for i in range(1, 11):
        steady.expect = 1 + i
        steady.arrived.clear()
        await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [i]))
        await steady.arrived.wait()  # this one reads everything
    await slow.wait_closed()
    assert slow.closed.is_set()
    assert slow.close_reason is not None and slow.close_reason.startswith("too slow")
    assert stuck.closed_with == CLOSE_POLICY
    assert hub.stats.dropped_slow == 1
    assert slow not in hub.clients
    assert [i for _, i in trades_of(steady)] == list(range(1, 11))
    await hub.stop()


def unbundled(conn: FakeConnection) -> list[str]:
    """The client's messages, bundles opened, as texts."""
    out: list[str] = []
    for text in conn.sent:
        msg = json.loads(text)
        if msg["channel"] == "bundle":
            out.extend(json.dumps(m) for m in msg["messages"])
        else:
            out.append(json.dumps(msg))
    return out


async def test_bundles_carry_the_same_messages_in_one_frame_per_burst() -> None:
    encoder = CountingEncoder()
    bus = MemoryBus()
    await bus.start()
    hub = LiveHub(bus, encoder=encoder, queue_size=64)
    await hub.start()
    plain = FakeConnection(expect=1 + 30)  # subscriptions + one message per batch
    subscribe(hub, plain)
    bundled_conns = [FakeConnection(expect=1 + 1) for _ in range(20)]  # + one bundle
    for conn in bundled_conns:
        client = hub.connect(conn)
        client.bundle = True
        client.handle({"op": "subscribe", "instruments": ["sim:*"], "channels": ["trades"]})
    elsewhere = FakeConnection()
    other = hub.connect(elsewhere)
    other.bundle = True
    other.handle({"op": "subscribe", "instruments": ["binance:*"], "channels": ["trades"]})

    burst = [batch(f"S{i:03d}USDT", [1, 2]) for i in range(30)]
    for b in burst:  # published together: one burst
        await bus.publish(b.topic, b)
    await bus.join()

    assert encoder.calls == 30  # once per message, not per client nor per bundle
    await plain.arrived.wait()
    for conn in bundled_conns:
        await conn.arrived.wait()
        assert len(conn.sent) == 2
        assert conn.sent[1] == bundled_conns[0].sent[1]  # one frame built for all of them
        assert unbundled(conn) == unbundled(plain)
    assert len(trades_of(plain)) == 60
    assert len(elsewhere.sent) == 1  # its subscriptions only: nothing of sim
    await hub.stop()
    await bus.close()
