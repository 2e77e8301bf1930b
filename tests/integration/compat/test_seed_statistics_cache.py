"""Seed 004's `/api/crypto_price/statistics/` answers (and `/api/crypto_price/` pages of
one symbol) over closed windows kept in memory: a repeated request is answered from
memory with the same bytes; a late trade written into the window is in the very next
answer (equal to an answer computed without the cache); a window reaching into the
current minute, a client that leaves mid-stream, a write that races the read and a body
over the size limit leave nothing kept. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import store
from tickhub.app import create_app
from tickhub.common.time import datetime_to_us, now_us
from tickhub.marketdata.events import Trade
from tickhub.marketdata.live.readcache import ReadCache
from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.marketdata.service import _seeds
from tickhub.runtime import Runtime

T0 = datetime_to_us(datetime(2026, 3, 28, tzinfo=UTC))
S = 1_000_000
PATH = "/api/crypto_price/statistics/"
WINDOW = {
    "symbol": "BTCUSDT",
    "start_datetime": "2026-03-28T00:00:00",
    "end_datetime": "2026-03-28T00:09:59",
}
TRADES = [Trade(i + 1, T0 + i * 7 * S, 100.0 + i % 13, 1.0, False) for i in range(120)]


async def never(_seconds: float) -> None:
    """A sleep that does not end: no minute tick fires during a test."""
    await asyncio.Event().wait()


class Served:
    def __init__(self, runtime: Runtime, answers: ReadCache) -> None:
        self.runtime = runtime
        self.answers = answers
        self.snapshots = SnapshotCache(runtime.engine, runtime.bus, sleep=never)
        self.app = create_app(runtime=runtime)
        self.app.state.snapshot_cache = self.snapshots
        self.app.state.read_cache = answers
        # the same routes without the read cache: the straightforward answer
        self.plain = create_app(runtime=runtime)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        )
        self.uncached = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.plain), base_url="http://testserver"
        )

    async def write(self, trades: list[Trade]) -> None:
        """Through the writer, which announces the changed minutes on the bus."""
        await store(self.runtime, "binance", "BTCUSDT", trades)
        await self.runtime.bus.join()
        await self.snapshots.settled()


async def serve(runtime: Runtime, **kwargs: Any) -> Served:
    served = Served(runtime, ReadCache(runtime.bus, **kwargs))
    await served.snapshots.start()
    await served.answers.start()
    await served.write(TRADES)
    return served


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[Served]:
    s = await serve(runtime)
    yield s
    await s.client.aclose()
    await s.uncached.aclose()
    await s.answers.stop()
    await s.snapshots.stop()


async def test_a_repeated_request_is_answered_from_memory_with_the_same_bytes(
    served: Served,
) -> None:
    first = await served.client.get(PATH, params=WINDOW)
    assert first.status_code == 200, first.text
    assert first.json()["total_count"] == 86  # 00:00:00 to 00:09:55, every 7 s
    hits = served.answers.hits
    again = await served.client.get(PATH, params=WINDOW)
    # the same window written otherwise (an offset, a fraction of the end's second)
    other = await served.client.get(
        PATH,
        params={**WINDOW, "start_datetime": "2026-03-28T01:00:00+01:00",
                "end_datetime": "2026-03-28T00:09:59.5Z"},
    )  # fmt: skip
    assert served.answers.hits == hits + 2
    for r in (again, other):
        assert r.status_code == 200
        assert r.content == first.content
        assert r.headers["content-type"] == first.headers["content-type"]
    assert first.content == (await served.uncached.get(PATH, params=WINDOW)).content


async def test_a_late_trade_in_the_window_is_in_the_next_answer(served: Served) -> None:
    first = await served.client.get(PATH, params=WINDOW)
    assert first.status_code == 200, first.text
    await served.write([Trade(1000, T0 + 300 * S + 1, 500.0, 2.0, True)])
    hits = served.answers.hits
    later = await served.client.get(PATH, params=WINDOW)
    assert served.answers.hits == hits  # read again, not from memory
    assert later.json()["total_count"] == first.json()["total_count"] + 1
    assert later.content == (await served.uncached.get(PATH, params=WINDOW)).content
    # kept again, until the next write into it; a write elsewhere keeps it
    await served.write([Trade(1001, T0 + 3600 * S, 1.0, 1.0, True)])
    assert (await served.client.get(PATH, params=WINDOW)).content == later.content
    assert served.answers.hits == hits + 1


@pytest.fixture
async def frozen(runtime: Runtime) -> AsyncIterator[tuple[Served, int]]:
    """Served with the cache's clock stopped at `now`: a test's "current minute" cannot
    close between reading the clock and the request."""
    now = now_us()
    s = await serve(runtime, now=lambda: now)
    yield s, now
    await s.client.aclose()
    await s.uncached.aclose()


async def test_a_window_reaching_into_the_current_minute_is_not_kept(
    frozen: tuple[Served, int],
) -> None:
    served, now = frozen
    minute = datetime.fromtimestamp((now - now % (60 * S)) / S, UTC)  # its last second is open
    params = {"symbol": "BTCUSDT", "end_datetime": minute.strftime("%Y-%m-%dT%H:%M:%S")}
    r = await served.client.get(PATH, params=params)
    assert r.status_code == 200, r.text
    assert served.answers.size == 0
    hits = served.answers.hits
    assert (await served.client.get(PATH, params=params)).content == r.content
    assert served.answers.hits == hits


async def test_errors_are_not_kept(served: Served) -> None:
    reversed_ = {**WINDOW, "start_datetime": "2026-03-28T00:10:00"}
    empty = {
        **WINDOW,
        "start_datetime": "2026-03-28T05:00:00",
        "end_datetime": "2026-03-28T05:00:59",
    }
    for params in (reversed_, empty, reversed_, empty):
        r = await served.client.get(PATH, params=params)
        assert r.status_code == 400, r.text
    assert served.answers.size == 0
    assert served.answers.hits == 0


async def test_a_body_over_the_size_limit_is_sent_whole_and_not_kept(runtime: Runtime) -> None:
    s = await serve(runtime, max_bytes=4 * 4096)  # bodies up to 4 KiB are kept
    try:
        small = await s.client.get(PATH, params={**WINDOW, "end_datetime": "2026-03-28T00:00:59"})
        assert small.status_code == 200 and len(small.content) <= 4096
        kept = s.answers.size
        assert kept == len(small.content)
        large = await s.client.get(PATH, params=WINDOW)
        assert large.status_code == 200 and len(large.content) > 4096
        assert large.content == (await s.uncached.get(PATH, params=WINDOW)).content
        assert s.answers.size == kept
    finally:
        await s.client.aclose()
        await s.uncached.aclose()
        await s.answers.stop()
        await s.snapshots.stop()


async def stream(
    served: Served, on_first_chunk: Any, *, leave: bool
) -> list[MutableMapping[str, Any]]:
    """Runs one request at the ASGI level; `on_first_chunk` is awaited once the first
    chunk of prices is sent; with `leave`, the client then disconnects."""
    first_chunk = asyncio.Event()
    sent: list[MutableMapping[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        if not leave:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        body = message.get("body", b"")
        if message["type"] == "http.response.body" and b'{"id"' in body:
            if not first_chunk.is_set():
                await on_first_chunk()
            first_chunk.set()
        await asyncio.sleep(0)  # a real socket send yields to the loop

    query = "&".join(f"{k}={v}" for k, v in WINDOW.items()).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": PATH, "raw_path": b"", "query_string": query,
        "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    await served.app(scope, receive, send)
    return sent


def body_of(sent: list[MutableMapping[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_client_leaving_mid_stream_leaves_nothing_kept(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 5)

    async def nothing() -> None:
        pass

    sent = await stream(served, nothing, leave=True)
    assert sent[0]["status"] == 200
    assert b"total_count" not in body_of(sent)  # it stopped mid-stream
    assert served.answers.size == 0
    whole = await served.client.get(PATH, params=WINDOW)
    assert whole.json()["total_count"] == 86
    assert served.answers.size == len(whole.content)


async def test_an_answer_whose_read_raced_a_write_is_not_kept(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 5)

    async def late_trade() -> None:
        await served.write([Trade(1000, T0 + 300 * S + 1, 500.0, 2.0, True)])

    sent = await stream(served, late_trade, leave=False)
    assert sent[0]["status"] == 200
    assert b"total_count" in body_of(sent)  # the whole answer was sent
    assert served.answers.size == 0
    hits = served.answers.hits
    after = await served.client.get(PATH, params=WINDOW)
    assert served.answers.hits == hits
    assert after.json()["total_count"] == 87


PAGES = "/api/crypto_price/"
PAGE = {**WINDOW, "limit": "10", "offset": "20"}


async def test_a_page_of_one_symbol_is_kept_until_a_write_into_its_window(
    served: Served,
) -> None:
    first = await served.client.get(PAGES, params=PAGE)
    assert first.status_code == 200, first.text
    assert first.json()["count"] == 86 and first.json()["next"].startswith("http://testserver/")
    hits = served.answers.hits
    assert (await served.client.get(PAGES, params=PAGE)).content == first.content
    assert served.answers.hits == hits + 1
    assert first.content == (await served.uncached.get(PAGES, params=PAGE)).content

    await served.write([Trade(1000, T0 + 1, 500.0, 2.0, True)])  # before every listed one
    later = await served.client.get(PAGES, params=PAGE)
    assert served.answers.hits == hits + 1
    assert later.json()["count"] == 87
    assert later.content == (await served.uncached.get(PAGES, params=PAGE)).content
    assert later.json()["results"][1:] == first.json()["results"][:-1]


async def test_pages_of_every_market_or_of_an_open_window_are_not_kept(
    frozen: tuple[Served, int],
) -> None:
    served, now = frozen
    minute = datetime.fromtimestamp((now - now % (60 * S)) / S, UTC)
    every = {k: v for k, v in PAGE.items() if k != "symbol"}
    open_ = {**PAGE, "end_datetime": minute.strftime("%Y-%m-%dT%H:%M:%S")}
    unbounded = {k: v for k, v in PAGE.items() if k != "end_datetime"}
    for params in (every, open_, unbounded):
        r = await served.client.get(PAGES, params=params)
        assert r.status_code == 200, r.text
        assert r.content == (await served.uncached.get(PAGES, params=params)).content
    assert served.answers.size == 0
