"""The live hub's fan-out: each message encoded once whatever the number of subscribers,
every trade delivered once to every subscriber, and a client that cannot keep up still
cut off. Fake connections, no network, no clock."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from tests.unit.test_websocket_direct import FakeProtocol, Transport, client_reading
from tickhub.bus import MemoryBus
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.live.hub import LiveClient, LiveHub, encode
from tickhub.websocket import BEHIND_BYTES, CLOSE_POLICY, DirectSink


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


# -- the fast path: frames written to the transport at each flush ---------------------------


def direct(
    hub: LiveHub, transport: Transport, instruments: str = "sim:*", bundle: bool = False
) -> LiveClient:
    """A client whose frames go straight to `transport` (as with uvicorn)."""
    conn = FakeConnection()
    client = hub.connect(conn)
    client.sink = DirectSink(
        FakeProtocol(), transport, max_buffer=hub.max_buffer_bytes, timeout_s=hub.send_timeout_s
    )
    client.bundle = bundle
    client.handle({"op": "subscribe", "instruments": [instruments], "channels": ["trades"]})
    return client


def frames_of(transport: Transport) -> list[dict[str, Any]]:
    return [json.loads(bytes(f.data)) for f in client_reading(b"".join(transport.writes))]


async def test_a_burst_reaches_each_fast_client_in_one_write_built_once() -> None:
    encoder = CountingEncoder()
    bus = MemoryBus()
    await bus.start()
    hub = LiveHub(bus, encoder=encoder)
    await hub.start()
    plain = FakeConnection(expect=1 + 30)
    subscribe(hub, plain)  # a queued client, for reference
    fast = [Transport() for _ in range(50)]
    for t in fast:
        direct(hub, t)
    bundled = [Transport() for _ in range(5)]
    for t in bundled:
        direct(hub, t, bundle=True)
    elsewhere = Transport()
    direct(hub, elsewhere, "binance:*")

    burst = [batch(f"S{i:03d}USDT", [1, 2]) for i in range(30)]
    for b in burst:
        await bus.publish(b.topic, b)
    await bus.join()
    hub.flush()  # what the tick does

    assert encoder.calls == 30
    await plain.arrived.wait()
    expected = [json.loads(text) for text in plain.sent[1:]]
    for t in fast:
        assert len(t.writes) == 2  # the subscriptions reply, then the burst in one write
        assert t.writes[1] == fast[0].writes[1]
        assert frames_of(t)[0]["channel"] == "subscriptions"
        assert frames_of(t)[1:] == expected
    for t in bundled:
        assert len(t.writes) == 2
        [_reply, bundle] = frames_of(t)
        assert bundle == {"channel": "bundle", "messages": expected}
    assert len(elsewhere.writes) == 1  # its subscriptions only
    assert hub.stats.dropped_slow == 0
    await hub.stop()
    await bus.close()


async def test_messages_for_one_client_come_after_what_the_hub_held() -> None:
    hub = LiveHub(MemoryBus())
    t = Transport()
    client = direct(hub, t)
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [1, 2]))
    client.handle({"op": "ping"})  # flushes first: the trades, then the pong
    client.handle({"op": "unsubscribe", "instruments": ["sim:*"]})
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [3]))
    hub.flush()
    channels = [m["channel"] for m in frames_of(t)]
    assert channels == ["subscriptions", "trades", "pong", "subscriptions"]
    await hub.stop()


async def test_a_fast_client_past_its_buffer_is_closed_and_the_others_go_on() -> None:
    hub = LiveHub(MemoryBus(), max_buffer_bytes=BEHIND_BYTES * 2, send_timeout_s=3600)
    stalled = Transport(drains=0)
    slow = direct(hub, stalled)
    steady = Transport()
    direct(hub, steady)
    i = 0
    while not slow.closed.is_set():
        i += 1
        assert i < 10_000, "the stalled client was never dropped"
        await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", list(range(i * 50, i * 50 + 50))))
        hub.flush()
    for j in range(i + 1, i + 4):
        await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", list(range(j * 50, j * 50 + 50))))
        hub.flush()
    await slow.wait_closed()
    assert slow.close_reason is not None and slow.close_reason.startswith("too slow")
    assert hub.stats.dropped_slow == 1
    assert slow not in hub.clients
    assert stalled.aborted  # what it had not read is let go
    assert stalled.buffer <= BEHIND_BYTES * 2 + 50 * 200  # bounded: the limit and a message
    ids = [
        t["trade_id"] for m in frames_of(steady) if m["channel"] == "trades" for t in m["trades"]
    ]
    assert ids == list(range(50, (i + 4) * 50))
    await hub.stop()


async def test_a_client_sent_part_of_a_flush_alone_gets_only_the_rest() -> None:
    hub = LiveHub(MemoryBus())
    pinging, quiet = Transport(), Transport()
    client = direct(hub, pinging)
    direct(hub, quiet)
    await hub.on_event("trades.sim.BTCUSDT", batch("BTCUSDT", [1, 2]))
    client.handle({"op": "ping"})  # gets trades 1-2 at once, then its pong
    await hub.on_event("trades.sim.ETHUSDT", batch("ETHUSDT", [7]))
    hub.flush()

    def seen(t: Transport) -> list[Any]:
        return [(m["channel"], [x["trade_id"] for x in m.get("trades", [])]) for m in frames_of(t)]

    assert seen(pinging) == [
        ("subscriptions", []),
        ("trades", [1, 2]),
        ("pong", []),
        ("trades", [7]),
    ]
    assert seen(quiet) == [("subscriptions", []), ("trades", [1, 2]), ("trades", [7])]
    assert len(quiet.writes) == 2  # its reply, then the whole flush in one write
    await hub.stop()
