"""`/v1/stream` through a real server (uvicorn on a free port) and a real WebSocket client.

Trades go onto the bus as the tracker publishes them; the writer stores them and publishes
the 1 m candle updates. Every wait is on a condition with a timeout: `bus.join()` (every
handler has run), then a ping whose pong comes after everything queued before it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.fixtures.local_http import serve
from tickhub.app import create_app
from tickhub.marketdata.events import SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.store.candles import MINUTE
from tickhub.runtime import Runtime

S = 1_000_000
TIMEOUT = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = int((datetime(2026, 11, 23, 15, tzinfo=UTC) - EPOCH) / timedelta(microseconds=1))


def iso(ts: int) -> str:
    return (EPOCH + timedelta(microseconds=ts)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@asynccontextmanager
async def served(runtime: Runtime) -> AsyncIterator[str]:
    """The app on 127.0.0.1 with its lifespan (so its live hub) running."""
    async with serve(create_app(runtime=runtime), lifespan=True) as url:
        yield f"ws{url.removeprefix('http')}/v1/stream"


async def recv(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert isinstance(message, dict)
    return message


async def send(ws: ClientConnection, **message: Any) -> None:
    await ws.send(json.dumps(message))


async def drain(ws: ClientConnection) -> list[dict[str, Any]]:
    """Everything the server had queued for this client, up to a pong."""
    await send(ws, op="ping")
    out = []
    while (m := await recv(ws))["channel"] != "pong":
        out.append(m)
    return out


def trades(first: int, last: int, start: int = T0) -> tuple[Trade, ...]:
    return tuple(
        Trade(i, start + i * 3 * S, 100.0 + i % 7, 0.5 + i % 3, i % 2 == 0)
        for i in range(first, last + 1)
    )


async def test_clients_get_their_instruments_trades_and_candles(runtime: Runtime) -> None:
    assert runtime.writer is not None
    bus = runtime.bus
    await bus.subscribe("trades.#", runtime.writer.handle, group="writer")
    async with (
        served(runtime) as url,
        connect(f"{url}?instruments=binance:BTCUSDT&channels=trades,candles") as a,
        connect(url) as b,
    ):
        assert await recv(a) == {
            "channel": "subscriptions",
            "instruments": ["binance:BTCUSDT"],
            "channels": ["trades", "candles"],
        }
        assert await recv(b) == {"channel": "subscriptions", "instruments": [], "channels": []}
        await send(b, op="subscribe", instruments=["SIM:eth-usdt"])
        assert await recv(b) == {
            "channel": "subscriptions",
            "instruments": ["sim:ETHUSDT"],
            "channels": ["trades", "candles"],
        }

        first = TradeBatch("binance", "BTCUSDT", trades(1, 50))
        await bus.publish(first.topic, first)
        sim = TradeBatch("sim", "ETHUSDT", trades(1, 10), simulated=True)
        await bus.publish(sim.topic, sim)
        other = TradeBatch("binance", "ETHUSDT", trades(1, 10))
        await bus.publish(other.topic, other)
        await bus.publish(first.topic, first)  # a replay: nothing new
        overlap = TradeBatch("binance", "BTCUSDT", trades(40, 80))
        await bus.publish(overlap.topic, overlap)
        await bus.join()

        got_a = await drain(a)
        got_b = await drain(b)

    assert {(m["channel"], m.get("exchange"), m.get("symbol")) for m in got_a} == {
        ("trades", "binance", "BTCUSDT"),
        ("candles", "binance", "BTCUSDT"),
    }
    sent = [t["trade_id"] for m in got_a if m["channel"] == "trades" for t in m["trades"]]
    assert sent == list(range(1, 81))  # each trade once, in order
    assert got_a[0]["trades"][0] == {
        "trade_id": 1,
        "time": iso(T0 + 3 * S),
        "price": 101.0,
        "qty": 1.5,
        "is_buyer_maker": False,
    }
    assert got_a[0]["simulated"] is False

    # the last update of each minute is the candle of all its trades
    last: dict[str, dict[str, Any]] = {}
    for m in got_a:
        if m["channel"] == "candles":
            assert m["interval"] == "1m"
            last[m["candle"]["time"]] = m["candle"]
    want: dict[int, list[Trade]] = {}
    for t in trades(1, 80):
        want.setdefault(t.ts - t.ts % MINUTE, []).append(t)
    assert sorted(last) == [iso(k) for k in sorted(want)]
    for start, ts in want.items():
        c = last[iso(start)]
        assert c["open"] == ts[0].price
        assert c["close"] == ts[-1].price
        assert c["high"] == max(t.price for t in ts)
        assert c["low"] == min(t.price for t in ts)
        assert c["trade_count"] == len(ts)
        assert c["volume"] == pytest.approx(sum(t.qty for t in ts))

    assert {(m["channel"], m.get("exchange"), m.get("symbol")) for m in got_b} == {
        ("trades", "sim", "ETHUSDT"),
        ("candles", "sim", "ETHUSDT"),
    }
    assert [t["trade_id"] for m in got_b if m["channel"] == "trades" for t in m["trades"]] == list(
        range(1, 11)
    )
    assert all(m["simulated"] for m in got_b if m["channel"] == "trades")


async def test_subscribe_unsubscribe_status_and_errors(runtime: Runtime) -> None:
    bus = runtime.bus
    tracker = Tracker(bus)
    async with served(runtime) as url:
        async with connect(f"{url}?channels=books") as bad:
            assert (await recv(bad))["field"] == "channels"
        async with connect(f"{url}/?instruments=BTCUSDT") as bad:
            assert (await recv(bad))["field"] == "instruments"

        async with connect(url) as ws:
            await recv(ws)
            await ws.send("not json")
            assert await recv(ws) == {"channel": "error", "field": "message", "detail": "not JSON"}
            await send(ws, op="dance")
            assert (await recv(ws))["field"] == "op"
            await send(ws, op="subscribe", channels=["books"])
            assert (await recv(ws))["field"] == "channels"
            await send(ws, op="subscribe", instruments=["binance:"])
            assert (await recv(ws))["field"] == "instruments"
            await ws.send(b'{"op": "ping"}')
            assert await recv(ws) == {"channel": "pong"}

            await tracker.status(SourceStatus("binance", SourceState.CONNECTED, "stream open"))
            await bus.join()
            await send(ws, op="subscribe", instruments=["binance:*"], channels=["status", "trades"])
            assert await recv(ws) == {
                "channel": "subscriptions",
                "instruments": ["binance:*"],
                "channels": ["trades", "status"],
            }
            status = await recv(ws)  # what the hub already knew
            assert status["channel"] == "status"
            assert status["status"]["state"] == "connected"
            assert status["status"]["simulated"] is False

            await tracker.status(SourceStatus("sim", SourceState.SIMULATED, "simulated market"))
            batch = TradeBatch("binance", "ETHUSDT", trades(1, 3))
            await bus.publish(batch.topic, batch)
            await bus.join()
            got = await drain(ws)
            assert sorted(m["channel"] for m in got) == ["status", "trades"]
            (sim,) = [m["status"] for m in got if m["channel"] == "status"]
            assert sim["source"] == "sim"
            assert sim["simulated"] is True

            await send(ws, op="unsubscribe", channels=["trades"])
            assert (await recv(ws))["channels"] == ["status"]
            await send(ws, op="subscribe", instruments=["*"], channels=["trades"])
            assert (await recv(ws))["instruments"] == ["*", "binance:*"]
            await send(ws, op="unsubscribe")
            assert await recv(ws) == {"channel": "subscriptions", "instruments": [], "channels": []}
            batch = TradeBatch("binance", "ETHUSDT", trades(4, 6))
            await bus.publish(batch.topic, batch)
            await bus.join()
            assert await drain(ws) == []


class StalledClient:
    """A WebSocket client that subscribes, reads its first message and then stops reading,
    through a small receive window (a phone in a tunnel)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.setblocking(False)
        self.buf = bytearray()

    def __enter__(self) -> StalledClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()

    async def _more(self) -> None:
        loop = asyncio.get_running_loop()
        chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 1 << 16), TIMEOUT)
        if not chunk:
            raise EOFError
        self.buf += chunk

    async def frame(self) -> tuple[int, bytes]:
        """The next frame from the server (unmasked): (opcode, payload)."""
        while True:
            b = self.buf
            if len(b) >= 2:
                size, at = b[1] & 0x7F, 2
                if size >= 126:
                    width = 2 if size == 126 else 8
                    size = int.from_bytes(b[2 : 2 + width]) if len(b) >= 2 + width else -1
                    at += width
                if size >= 0 and len(b) >= at + size:
                    opcode, payload = b[0] & 0x0F, bytes(b[at : at + size])
                    del b[: at + size]
                    return opcode, payload
            await self._more()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        host, port, path = self.url.removeprefix("ws://").replace("/", ":", 1).split(":", 2)
        await loop.sock_connect(self.sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(self.sock, request.encode())
        while b"\r\n\r\n" not in self.buf:
            await self._more()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = bytearray(rest)
        opcode, payload = await self.frame()
        assert opcode == 1
        assert json.loads(payload)["channel"] == "subscriptions"

    async def close_code(self) -> int | None:
        """Read on until the server closes: the code of its close frame, or None if the
        connection just ended."""
        try:
            while True:
                opcode, payload = await self.frame()
                if opcode == 8:
                    return int.from_bytes(payload[:2])
        except EOFError:
            return None


async def test_a_slow_client_is_dropped_without_holding_up_anyone(runtime: Runtime) -> None:
    bus = runtime.bus
    # A send that never finishes must not matter: the queue overflows long before.
    hub = runtime.live = LiveHub(bus, queue_size=8, send_timeout_s=60)
    async with (
        served(runtime) as url,
        connect(f"{url}?instruments=binance:BTCUSDT&channels=trades") as fast,
    ):
        with StalledClient(f"{url}?instruments=binance:BTCUSDT") as slow:
            await slow.open()
            await recv(fast)
            assert len(hub.clients) == 2
            received: list[int] = []
            batches = after_drop = 0
            while after_drop < 5:
                assert batches < 5000, "the slow client was never dropped"
                first = batches * 200 + 1
                batch = TradeBatch("binance", "BTCUSDT", trades(first, first + 199))
                # the stalled client's sends never finish (60 s timeout): a publisher
                # held up by them would stall here, and the fast client with it
                await bus.publish(batch.topic, batch)
                await bus.join()
                batches += 1
                # the fast client reads each batch as it comes
                received.extend(t["trade_id"] for t in (await recv(fast))["trades"])
                if hub.stats.dropped_slow:
                    after_drop += 1

            assert hub.stats.dropped_slow == 1
            assert len(hub.clients) == 1  # the fast one
            assert received == list(range(1, batches * 200 + 1))
            # the server has let the slow one go: what it had sent ends with a close
            assert await slow.close_code() in {1008, None}


@pytest.mark.parametrize("fast_path", [True, False], ids=["frames-to-transport", "asgi-send"])
async def test_many_clients_get_every_trade_once_in_order(
    runtime: Runtime, fast_path: bool
) -> None:
    """Real clients on both paths: the frames written straight to uvicorn's transport
    decode as the library's own, and no trade is lost, repeated or reordered."""
    bus = runtime.bus
    hub = runtime.live = LiveHub(bus, direct=fast_path, queue_size=100_000)
    symbols = [f"S{i:03d}USDT" for i in range(25)]
    async with served(runtime) as url:
        plain = [await connect(f"{url}?instruments=sim:*&channels=trades") for _ in range(12)]
        bundled = [
            await connect(f"{url}?instruments=sim:*&channels=trades&bundle=true") for _ in range(4)
        ]
        try:
            for ws in plain + bundled:
                assert (await recv(ws))["channel"] == "subscriptions"
            assert [c.sink is not None for c in hub.clients] == [fast_path] * 16
            for lo in range(1, 201, 10):  # each batch also repeats the 5 trades before it
                for s in symbols:
                    b = TradeBatch("sim", s, trades(max(1, lo - 5), lo + 9), simulated=True)
                    await bus.publish(b.topic, b)
                await bus.join()
            got = [await drain(ws) for ws in plain + bundled]
        finally:
            for ws in plain + bundled:
                await ws.close()
    for messages in got:
        opened = [
            inner
            for m in messages
            for inner in (m["messages"] if m["channel"] == "bundle" else [m])
        ]
        for s in symbols:
            ids = [
                t["trade_id"]
                for m in opened
                if m["channel"] == "trades" and m["symbol"] == s
                for t in m["trades"]
            ]
            assert ids == list(range(1, 201)), s
    assert hub.stats.dropped_slow == 0
