"""Seed 004's `/api/crypto_price/statistics/` streamed: the prices are read and written a
chunk at a time and the statistics follow them; the whole body is the seed's shape, with
the same figures as computed from the stored trades. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import random
import statistics as pystats
import struct
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from sqlalchemy.pool import QueuePool

from tests.conftest import store
from tickhub.app import create_app
from tickhub.marketdata.deps import open_reads
from tickhub.marketdata.events import Trade
from tickhub.marketdata.service import _seeds
from tickhub.runtime import Runtime

T0 = datetime(2026, 3, 28, tzinfo=UTC)
S = 1_000_000
T0_US = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


async def test_streamed_in_chunks_with_the_seed_figures(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 7)  # several chunks, one partial
    rnd = random.Random(4)
    trades = [
        Trade(i + 1, T0_US + i * S + rnd.randrange(S), round(rnd.uniform(90, 110), 2), 1.0, None)
        for i in range(60)
    ]
    await store(runtime, "binance", "BTCUSDT", trades)
    picked = trades[5:50]  # 00:00:05 to 00:00:49 (whole seconds, both ends included)
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": "2026-03-28T00:00:05",
            "end_datetime": "2026-03-28T00:00:49",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    prices = [t.price for t in picked]
    assert body["crypto_prices"] == [
        {
            "id": t.trade_id,
            "datetime": (T0 + timedelta(seconds=t.ts // S - T0_US // S)).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "symbol": "BTCUSDT",
            "price": t.price,
        }
        for t in picked
    ]
    assert body["total_count"] == len(prices)
    assert body["average_price"] == pystats.fmean(prices)
    assert body["median_price"] == pystats.median(prices)
    assert body["standard_deviation"] == pytest.approx(pystats.pstdev(prices), rel=1e-12)
    assert body["percentage_change"] == pytest.approx((prices[-1] - prices[0]) / prices[0] * 100)
    assert list(body) == [
        "crypto_prices",
        "total_count",
        "average_price",
        "median_price",
        "standard_deviation",
        "percentage_change",
    ]


async def test_errors_come_before_any_body(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "MAX_SEED_PRICES", 10)
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0_US + i * S, 100.0, 1.0) for i in range(1, 20)]
    )
    params = {"symbol": "BTCUSDT", "start_datetime": "2026-03-28T00:00:01"}
    over = await client.get("/api/crypto_price/statistics/", params=params)
    assert over.status_code == 400
    assert over.json()["detail"].startswith("More than ")  # before any byte of a body
    params["end_datetime"] = "2026-03-28T00:00:05"
    assert (await client.get("/api/crypto_price/statistics/", params=params)).json()[
        "total_count"
    ] == 5


async def test_trades_of_one_second_across_chunks_are_listed_once_in_id_order(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 4)  # pages end inside a run of equal times
    trades = [Trade(i, T0_US + (i // 10) * S, 100.0 + i, 1.0, None) for i in range(1, 31)]
    await store(runtime, "binance", "BTCUSDT", list(reversed(trades)))
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={"symbol": "BTCUSDT", "start_datetime": "2026-03-28T00:00:00"},
    )
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["crypto_prices"]] == list(range(1, 31))
    assert r.json()["total_count"] == 30


async def test_a_client_leaving_mid_stream_closes_the_read_quietly(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 5)
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0_US + i * S, 100.0, 1.0) for i in range(1, 200)]
    )
    app = create_app(runtime=runtime)
    first_chunk = asyncio.Event()
    sent: list[MutableMapping[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and b'{"id"' in message.get("body", b""):
            first_chunk.set()  # a chunk of prices is out: the client leaves
        await asyncio.sleep(0)  # a real socket send yields to the loop

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/api/crypto_price/statistics/", "raw_path": b"",
        "query_string": b"symbol=BTCUSDT&start_datetime=2026-03-28T00:00:01",
        "root_path": "", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    with caplog.at_level(logging.WARNING):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"total_count" not in body  # it stopped mid-stream
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    pool = cast("QueuePool", runtime.engine.pool)
    assert pool.checkedout() == 0  # the read's connection went back


@pytest.mark.parametrize("matching", [1, 4, 5, 6, 10, 11])
async def test_windows_around_the_chunk_size_list_every_match_once(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, matching: int
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", 5)  # a window of one chunk needs no count
    trades = [Trade(i, T0_US + i * S, 100.0 + i, 1.0) for i in range(1, 40)]
    await store(runtime, "binance", "BTCUSDT", trades)
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": "2026-03-28T00:00:01",
            "end_datetime": f"2026-03-28T00:00:{matching:02d}",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["id"] for p in body["crypto_prices"]] == list(range(1, matching + 1))
    assert body["total_count"] == matching
    assert body["average_price"] == pystats.fmean(100.0 + i for i in range(1, matching + 1))


@pytest.mark.parametrize(
    ("chunk", "matching", "status"), [(4, 10, 200), (10, 10, 200), (4, 11, 400), (10, 11, 400)]
)
async def test_the_limit_holds_whether_or_not_it_falls_on_a_chunk(
    client: httpx.AsyncClient,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
    matching: int,
    status: int,
) -> None:
    monkeypatch.setattr(_seeds, "SEED_CHUNK", chunk)
    monkeypatch.setattr(_seeds, "MAX_SEED_PRICES", 10)
    await store(
        runtime, "binance", "BTCUSDT", [Trade(i, T0_US + i * S, 100.0, 1.0) for i in range(1, 20)]
    )
    r = await client.get(
        "/api/crypto_price/statistics/",
        params={
            "symbol": "BTCUSDT",
            "start_datetime": "2026-03-28T00:00:01",
            "end_datetime": f"2026-03-28T00:00:{matching:02d}",
        },
    )
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["total_count"] == matching
    else:
        assert r.json()["detail"].startswith("More than ")


async def test_price_pages_are_read_exactly_as_stored(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page comes back as columns (on PostgreSQL from a binary COPY): every bit of
    every price, large ids and times, the keyset from an open start."""
    prices = [5e-324, 2.2250738585072014e-308, 0.1 + 0.2, 1 / 3, 70_000.12345678901,
              1.7976931348623157e308, 123456789012345678.0, 0.0085, 1e-7, 42.0]  # fmt: skip
    big = 2**62 + 12_345
    trades = [Trade(big + i, T0_US + i * S, p, 1.0, None) for i, p in enumerate(prices)]
    await store(runtime, "binance", "BTCUSDT", trades)
    async with open_reads(runtime.engine) as tx:
        (inst,) = [i for i in await tx.reads.instruments() if i.symbol == "BTCUSDT"]
        first = await tx.reads.price_rows(inst.id, None, None, after=None, limit=4)
        rest = await tx.reads.price_rows(
            inst.id, None, None, after=(int(first.times[-1]), int(first.ids[-1])), limit=100
        )
    assert len(first) == 4 and len(rest) == len(prices) - 4
    got = [
        (i, t, p)
        for page in (first, rest)
        for i, t, p in zip(
            page.ids.tolist(), page.times.tolist(), page.prices.tolist(), strict=True
        )
    ]
    want = [(t.trade_id, t.ts, t.price) for t in trades]
    assert got == want
    assert [struct.pack("<d", p) for _, _, p in got] == [struct.pack("<d", p) for p in prices]
