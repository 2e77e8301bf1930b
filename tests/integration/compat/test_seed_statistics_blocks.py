"""Seed 004's `/api/crypto_price/statistics/` built from the prices kept by closed minute
(`PriceBlocks`): every window of up to two days gives the bytes the streamed answer gives
(whole minutes, partial ones, minutes without trades, rolled windows), a rolled window
reads only its partial minutes again, a late trade is in the very next answer, and the
seed's errors keep their messages. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import datetime_to_us
from tickhub.compat import _ticker_json
from tickhub.marketdata import service
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.priceblocks import PriceBlocks
from tickhub.marketdata.service import _seeds
from tickhub.runtime import Runtime

DAY0 = datetime(2026, 3, 28, tzinfo=UTC)
T0 = datetime_to_us(DAY0)
S = 1_000_000
PATH = "/api/crypto_price/statistics/"
# one trade every 7 s for about 70 minutes, none from 00:20 to 00:25, and a few the next day
TRADES = [
    Trade(i + 1, T0 + i * 7 * S, 100.0 + (i * 37) % 101 / 8, 1.0, False)
    for i in range(600)
    if not 20 * 60 <= i * 7 < 25 * 60
] + [Trade(1000 + i, T0 + 86_400 * S + i * 3_600 * S, 90.0 + i, 1.0, True) for i in range(5)]


def text(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S")


def window(start: timedelta, end: timedelta) -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "start_datetime": text(DAY0 + start),
        "end_datetime": text(DAY0 + end),
    }


class Served:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.blocks = PriceBlocks(runtime.bus)
        app = create_app(runtime=runtime)
        app.state.price_blocks = self.blocks
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        # the same route without the blocks: the streamed answer
        self.streamed = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(runtime=runtime)),
            base_url="http://testserver",
        )

    async def both(self, params: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
        return await self.client.get(PATH, params=params), await self.streamed.get(
            PATH, params=params
        )


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[Served]:
    s = Served(runtime)
    await s.blocks.start()
    await store(runtime, "binance", "BTCUSDT", TRADES)
    await runtime.bus.join()
    yield s
    await s.blocks.stop()
    await s.client.aclose()
    await s.streamed.aclose()


async def test_every_window_gives_the_streamed_bytes(served: Served) -> None:
    m = timedelta(minutes=1)
    windows = [
        (timedelta(0), 10 * m - timedelta(seconds=1)),  # whole minutes
        (timedelta(seconds=25), 3 * m + timedelta(seconds=40)),  # partial at both ends
        (19 * m + timedelta(seconds=30), 26 * m),  # across the minutes without trades
        (timedelta(seconds=14), timedelta(seconds=14)),  # one second, one trade
        (timedelta(0), timedelta(hours=47)),  # both days
    ]
    answered = 0
    for start, end in windows:
        for shift in (timedelta(0), timedelta(seconds=13), timedelta(seconds=61)):  # rolled
            ours, streamed = await served.both(window(start + shift, end + shift))
            assert ours.status_code == streamed.status_code, ours.text
            assert ours.content == streamed.content
            answered += ours.status_code == 200
    assert answered == 13  # the one-second window holds no trade once rolled
    assert served.blocks.hits > 0
    # a rolled window reads its partial first and last minutes, and nothing else
    misses = served.blocks.misses
    hits = served.blocks.hits
    ours, streamed = await served.both(window(timedelta(seconds=7), 60 * m + timedelta(seconds=9)))
    assert ours.content == streamed.content
    assert ours.json()["total_count"] == 472
    assert served.blocks.misses == misses + 2
    assert served.blocks.hits == hits + 59


async def test_a_late_trade_is_in_the_next_answer(served: Served) -> None:
    params = window(timedelta(seconds=30), timedelta(minutes=30))
    before = (await served.client.get(PATH, params=params)).json()
    await store(
        served.runtime, "binance", "BTCUSDT", [Trade(5000, T0 + 22 * 60 * S, 1.0, 1.0, False)]
    )
    await served.runtime.bus.join()  # the writer's announcement of the minute
    ours, streamed = await served.both(params)
    assert ours.content == streamed.content
    assert ours.json()["total_count"] == before["total_count"] + 1
    assert {"id": 5000, "datetime": "2026-03-28T00:22:00", "symbol": "BTCUSDT", "price": 1.0} in (
        ours.json()["crypto_prices"]
    )


async def test_the_seed_errors_keep_their_messages(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = window(timedelta(minutes=21), timedelta(minutes=24))
    ours, streamed = await served.both(empty)
    assert ours.status_code == streamed.status_code == 400
    assert ours.json() == streamed.json() == {"detail": "No matching data found"}
    monkeypatch.setattr(service, "MAX_SEED_PRICES", 99)
    many = window(timedelta(0), timedelta(minutes=12))  # 103 trades
    at_most = window(timedelta(0), timedelta(minutes=11, seconds=29))  # 99 trades
    assert (await served.client.get(PATH, params=at_most)).json()["total_count"] == 99
    r = await served.client.get(PATH, params=many)
    assert r.status_code == 400
    assert r.json() == {
        "detail": "More than 99 prices match: narrow start_datetime and end_datetime"
    }


async def test_windows_read_a_chunk_at_a_time_give_the_same_bytes(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 7)  # the driver's rows, 7 at a time
    monkeypatch.setattr(_ticker_json, "CHUNK", 5)  # the items' text, 5 at a time
    for start, end, runs in [
        (timedelta(seconds=3), timedelta(minutes=9, seconds=59), 1),
        (timedelta(0), timedelta(hours=47), 2),  # 00:00, then from 00:10 on
    ]:
        misses = served.blocks.misses
        ours, streamed = await served.both(window(start, end))
        assert ours.status_code == 200
        assert ours.content == streamed.content
        assert served.blocks.misses == misses + runs  # a statement per run of minutes
