"""Pure pieces of the `/v1` API and its live stream: time parsing and formatting, cursors,
instrument selectors, and the hub's fan-out against fake connections."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickhub.bus import MemoryBus
from tickhub.common.time import format_time, from_us
from tickhub.marketdata.events import SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.live.hub import LiveHub, Selector, parse_selector
from tickhub.marketdata.service import (
    MAX_TIME,
    InvalidParameter,
    decode_cursor,
    encode_cursor,
    parse_time,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us(d: datetime) -> int:
    return (d - EPOCH) // timedelta(microseconds=1)


# ------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T15:34:07.123456Z", datetime(2026, 11, 23, 15, 34, 7, 123456, tzinfo=UTC)),
        ("2026-11-23T15:34:07", datetime(2026, 11, 23, 15, 34, 7, tzinfo=UTC)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23 15:34", datetime(2026, 11, 23, 15, 34, tzinfo=UTC)),
        ("2026-11-23T16:34:07+01:00", datetime(2026, 11, 23, 15, 34, 7, tzinfo=UTC)),
        ("2026-11-23T16:34:07 01:00", datetime(2026, 11, 23, 15, 34, 7, tzinfo=UTC)),
        ("2026-11-23T10:04:07-05:30", datetime(2026, 11, 23, 15, 34, 7, tzinfo=UTC)),
        ("1795448047123", datetime(2026, 11, 23, 15, 34, 7, 123000, tzinfo=UTC)),
        ("1795448047123.5", datetime(2026, 11, 23, 15, 34, 7, 123500, tzinfo=UTC)),
        (" 0 ", EPOCH),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, "start") == us(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "now",
        "2026-13-01",
        "2026-02-30",
        "-1",
        "1e12",
        "12:00",
        "0001-01-01T00:00:00+05:00",
        "1969-12-31T23:59:59Z",
        "3000-01-01",
        "9999999999999999",
        "2026-11-23T15:34:07+25:00",
    ],
)
def test_parse_time_names_the_field(text: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_time(text, "end")
    assert info.value.field == "end"


@given(st.integers(min_value=0, max_value=MAX_TIME - 1))
def test_times_format_exactly_and_parse_back(ts: int) -> None:
    text = format_time(from_us(ts))
    assert len(text) == 27
    assert text.endswith("Z")
    assert parse_time(text, "t") == ts


def test_format_time() -> None:
    assert format_time(from_us(1_795_448_047_000_001)) == "2026-11-23T15:34:07.000001Z"
    paris = datetime(2026, 11, 23, 16, 34, 7, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(paris) == "2026-11-23T15:34:07.000000Z"
    assert format_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000000Z"


# ------------------------------------------------------------------ cursors


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=2**63 - 1))
def test_cursor_round_trip(ts: int, trade_id: int) -> None:
    cursor = encode_cursor(ts, trade_id)
    assert cursor.isascii()
    assert "=" not in cursor
    assert "+" not in cursor
    assert "/" not in cursor
    assert decode_cursor(cursor) == (ts, trade_id)


@pytest.mark.parametrize(
    "cursor",
    ["", "a", "!!!!", "é", "MTIz", "eDox", "LTE6Mg", "OTIyMzM3MjAzNjg1NDc3NTgwODox", "MTox\n"],
)
def test_bad_cursors_name_the_field(cursor: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        decode_cursor(cursor)
    assert info.value.field == "cursor"


# ------------------------------------------------------------------ selectors


def test_selectors() -> None:
    assert parse_selector("Binance:btc-usdt") == Selector("binance", "BTCUSDT")
    assert parse_selector("sim:*") == Selector("sim", "*")
    assert parse_selector(" * ") == Selector("*", "*")
    assert str(parse_selector("binance:BTC/USDT")) == "binance:BTCUSDT"
    assert Selector("binance", "*").matches("binance", "ETHUSDT")
    assert not Selector("binance", "BTCUSDT").matches("sim", "BTCUSDT")
    for bad in ("BTCUSDT", "binance:", ":BTCUSDT", "bin ance:BTCUSDT", "binance:---"):
        with pytest.raises(ValueError, match="instrument"):
            parse_selector(bad)


# ------------------------------------------------------------------ the hub


class FakeConnection:
    def __init__(self, *, stuck: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.stuck = stuck
        self.closed_with: int | None = None
        self.got = asyncio.Event()

    async def send_text(self, data: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()  # never returns: the peer does not read
        self.sent.append(json.loads(data))
        self.got.set()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code

    async def until(self, channel: str, n: int = 1) -> list[dict[str, Any]]:
        async with asyncio.timeout(5):
            while sum(m["channel"] == channel for m in self.sent) < n:
                self.got.clear()
                await self.got.wait()
        return [m for m in self.sent if m["channel"] == channel]


async def test_hub_sends_each_trade_once_to_the_subscribers() -> None:
    bus = MemoryBus()
    hub = LiveHub(bus)
    await hub.start()
    conn, other = FakeConnection(), FakeConnection()
    client = hub.connect(conn)
    client.handle({"op": "subscribe", "instruments": ["binance:BTCUSDT"]})
    hub.connect(other).handle({"op": "subscribe", "instruments": ["sim:*"]})

    def batch(ids: list[int]) -> TradeBatch:
        return TradeBatch("binance", "BTCUSDT", tuple(Trade(i, i, 1.0, 1.0) for i in ids))

    for ids in ([3, 1, 2, 2], [2, 3], [5, 4, 3], [1]):
        await bus.publish("trades.binance.BTCUSDT", batch(ids))
    await bus.join()
    got = await conn.until("trades", 2)
    assert [[t["trade_id"] for t in m["trades"]] for m in got] == [[1, 2, 3], [4, 5]]
    assert [m["channel"] for m in other.sent] == ["subscriptions"]
    await hub.stop()
    assert conn.closed_with == 1001
    assert hub.clients == []
    await bus.close()


async def test_hub_drops_a_client_whose_send_times_out() -> None:
    bus = MemoryBus()
    hub = LiveHub(bus, queue_size=100, send_timeout_s=0.05)
    await hub.start()
    conn = FakeConnection(stuck=True)
    client = hub.connect(conn)
    client.handle({"op": "subscribe", "instruments": ["*"], "channels": ["status"]})
    async with asyncio.timeout(5):
        await client.closed.wait()
    await client.wait_closed()
    assert client.close_reason is not None
    assert "too slow" in client.close_reason
    assert hub.stats.dropped_slow == 1
    assert hub.clients == []
    assert conn.closed_with == 1008
    # later events do not reach it, and nothing waits for it
    await bus.publish("status.sim", SourceStatus("sim", SourceState.SIMULATED))
    await bus.join()
    assert hub.statuses["sim"].state is SourceState.SIMULATED
    await hub.stop()
    await bus.close()


async def test_subscribe_without_channels_keeps_or_defaults_them() -> None:
    hub = LiveHub(MemoryBus())
    client = hub.connect(FakeConnection())
    client.handle({"op": "subscribe", "channels": ["status"]})
    assert client.channels == {"status"}
    client.handle({"op": "subscribe", "instruments": ["sim:*"]})
    assert client.channels == {"status", "trades", "candles"}
    client.handle({"op": "unsubscribe", "channels": ["candles"]})
    client.handle({"op": "subscribe", "instruments": ["binance:*"]})
    assert client.channels == {"status", "trades"}
    client.handle({"op": "subscribe", "instruments": [f"x:S{i}" for i in range(600)]})
    assert len(client.selectors) == 2  # refused: too many
    await hub.disconnect(client)
    assert client.closed.is_set()
