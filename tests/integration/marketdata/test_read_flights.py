"""Identical `/v1/candles` and `/v1/statistics` requests in flight at the same time share
one read (windows that end now included); distinct ones do not; an error reaches every
identical request and is not kept; a requester that leaves does not stop the others'
answer. The computations are held at a gate until every request has joined, so nothing
depends on timing. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import now_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.coalesce import Coalescer
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.runtime import Runtime

S = 1_000_000
CANDLES_NOW = "/v1/candles?symbol=BTCUSDT&interval=1m&limit=100"
STATS_NOW = "/v1/statistics?symbol=BTCUSDT"
N = 6


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


@dataclass
class Gate:
    """Holds every computation until `open` is set; tells when `starts` computations
    have started and when `waiters` requests wait on one."""

    starts: int = 1
    waiters: int = N
    started: list[Hashable] = field(default_factory=list)
    open: asyncio.Event = field(default_factory=asyncio.Event)
    all_started: asyncio.Event = field(default_factory=asyncio.Event)
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_start(self, key: Hashable) -> None:
        self.started.append(key)
        if len(self.started) >= self.starts:
            self.all_started.set()
        await self.open.wait()

    def on_join(self, _key: Hashable, waiters: int) -> None:
        if waiters >= self.waiters:
            self.all_joined.set()


@dataclass
class Served:
    client: httpx.AsyncClient
    flights: Coalescer
    gate: Gate


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[Served]:
    # trades up to the current minute: windows that end now hold them
    now = now_us()
    trades = [Trade(i + 1, now - (300 - i) * 60 * S, 100.0 + i, 1.0, False) for i in range(300)]
    await store(runtime, "binance", "BTCUSDT", trades)
    snapshots = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
    answers = ReadCache(runtime.bus)
    await snapshots.start()
    await answers.start()
    gate = Gate()
    flights = Coalescer(on_start=gate.on_start, on_join=gate.on_join)
    app = create_app(runtime=runtime)
    app.state.snapshot_cache = snapshots
    app.state.read_cache = answers
    app.state.read_flights = flights
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        await runtime.bus.join()
        await snapshots.settled()
        yield Served(c, flights, gate)
    await answers.stop()
    await snapshots.stop()


def asking(client: httpx.AsyncClient, url: str, n: int) -> list[asyncio.Task[httpx.Response]]:
    return [asyncio.create_task(client.get(url)) for _ in range(n)]


@pytest.mark.parametrize("url", [CANDLES_NOW, STATS_NOW])
async def test_identical_requests_in_flight_share_one_read(served: Served, url: str) -> None:
    client, flights, gate = served.client, served.flights, served.gate
    async with asyncio.timeout(30):  # a guard: the gate never opens when nothing is shared
        tasks = asking(client, url, N)
        await gate.all_joined.wait()
        assert len(gate.started) == 1
        gate.open.set()
        answers = await asyncio.gather(*tasks)
    assert [a.status_code for a in answers] == [200] * N, answers[0].text
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()  # the stored trades are in it
    assert (flights.computed, flights.joined, flights.in_flight) == (1, N - 1, 0)

    # nothing is kept once it ended: the next request reads again
    again = await client.get(url)
    assert again.status_code == 200
    assert len(gate.started) == 2
    assert (flights.computed, flights.joined) == (2, N - 1)


async def test_distinct_requests_are_not_merged(served: Served) -> None:
    client, flights, gate = served.client, served.flights, served.gate
    urls = [CANDLES_NOW, CANDLES_NOW.replace("limit=100", "limit=99"), STATS_NOW]
    urls += [STATS_NOW + "&start=0", CANDLES_NOW.replace("interval=1m", "interval=5m")]
    gate.starts = len(urls)
    async with asyncio.timeout(30):
        tasks = [asyncio.create_task(client.get(u)) for u in urls]
        await gate.all_started.wait()
        gate.open.set()
        answers = await asyncio.gather(*tasks)
    assert [a.status_code for a in answers] == [200] * len(urls)
    assert len({a.content for a in answers}) == len(urls)
    assert len(answers[0].json()) == len(answers[1].json()) + 1  # limit 100, then 99
    assert (flights.computed, flights.joined) == (len(urls), 0)


async def test_an_error_reaches_every_identical_request_and_is_not_kept(served: Served) -> None:
    client, flights, gate = served.client, served.flights, served.gate
    url = CANDLES_NOW.replace("BTCUSDT", "NOPE")
    async with asyncio.timeout(30):
        tasks = asking(client, url, N)
        await gate.all_joined.wait()
        gate.open.set()
        answers = await asyncio.gather(*tasks)
    assert [a.status_code for a in answers] == [404] * N
    assert {a.json()["field"] for a in answers} == {"symbol"}
    assert (flights.computed, flights.in_flight) == (1, 0)

    again = await client.get(url)
    assert again.status_code == 404
    assert flights.computed == 2  # read again, not answered from a kept error

    # bad input is each request's own 4xx, before any read
    bad = await client.get(CANDLES_NOW.replace("interval=1m", "interval=1x"))
    assert (bad.status_code, bad.json()["field"]) == (400, "interval")
    assert flights.computed == 2


async def test_the_first_requester_leaving_does_not_stop_the_others(served: Served) -> None:
    client, flights, gate = served.client, served.flights, served.gate
    async with asyncio.timeout(30):
        first = asyncio.create_task(client.get(CANDLES_NOW))
        await gate.all_started.wait()  # the first request's read is in flight
        others = asking(client, CANDLES_NOW, N - 1)
        await gate.all_joined.wait()
        first.cancel()  # its client went away
        with pytest.raises(asyncio.CancelledError):
            await first
        gate.open.set()
        answers = await asyncio.gather(*others)
    assert [a.status_code for a in answers] == [200] * (N - 1)
    assert len({a.content for a in answers}) == 1
    assert len(answers[0].json()) >= 99  # the newest 100 minutes, the current one empty
    assert (flights.computed, flights.joined, flights.in_flight) == (1, N - 1, 0)
