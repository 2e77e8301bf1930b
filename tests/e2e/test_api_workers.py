"""`tickhub api --workers 2`: two worker processes behind one port, each holding its own
in-memory latest prices kept current by the bus (RabbitMQ) itself. After a write that
another process publishes, both workers answer the new price from memory."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.conftest import service_unavailable
from tests.fixtures.processes import free_port, wait_until
from tickhub.bus.rabbitmq import RabbitBus
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.messages import message_codec
from tickhub.migrate import upgrade

AMQP_URL = os.environ.get("TICKHUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
T0 = 1_774_656_000_000_000  # 2026-03-28T00:00:00Z
_HEALTHZ = re.compile(
    r'^tickhub_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
    re.MULTILINE,
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    try:
        socket.create_connection(("127.0.0.1", 5672), 3).close()
    except OSError as exc:
        service_unavailable("RabbitMQ at 127.0.0.1:5672", repr(exc))
    db = f"sqlite:///{tmp_path}/api.db"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")},
        "TICKHUB_DATABASE_URL": db,
        "TICKHUB_BUS_URL": AMQP_URL,
        "TICKHUB_SOURCES": "",
        "TICKHUB_PORT": str(port),
        "TICKHUB_DATA_DIR": str(tmp_path),
        "TICKHUB_LOG_LEVEL": "warning",
    }
    subprocess.run([sys.executable, "-m", "tickhub", "db", "upgrade"], env=env, check=True)
    proc = subprocess.Popen([sys.executable, "-m", "tickhub", "api", "--workers", "2"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 180, "the API")
        yield base, db
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def two_workers(base: str) -> list[httpx.Client]:
    """Two kept-alive connections answered by different workers: the first asks for
    `/healthz` 30 times, so a connection whose worker counted fewer is on the other."""
    first = httpx.Client(base_url=base)
    for _ in range(30):
        first.get("/healthz")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        other = httpx.Client(base_url=base)
        m = _HEALTHZ.search(other.get("/metrics").text)
        if (float(m.group(1)) if m else 0.0) < 30:  # no line: that worker counted none
            return [first, other]
        other.close()
    first.close()
    pytest.fail("every connection went to one worker")


async def write(db: str, symbol: str, trades: list[Trade]) -> None:
    engine = create_engine(db)
    bus = RabbitBus(AMQP_URL, codec=message_codec(), name=f"e2e-{uuid.uuid4().hex[:8]}")
    await bus.start()
    try:
        await upgrade(engine)
        await Writer(engine, publish=bus.publish).write(
            TradeBatch("binance", symbol, tuple(trades))
        )
    finally:
        await bus.close()
        await engine.dispose()


def price_of(client: httpx.Client, path: str, price: float) -> bool:
    r = client.get(path)
    return r.status_code == 200 and r.json()["price"] == price


def in_snapshot(client: httpx.Client, symbol: str, price: float) -> bool:
    text = client.get("/v1/snapshot").text
    return symbol in text and str(price) in text


async def test_both_workers_answer_the_published_price(api: tuple[str, str]) -> None:
    base, db = api
    workers = two_workers(base)
    symbol = f"W{uuid.uuid4().hex[:6].upper()}USDT"
    path = f"/v1/prices/binance/{symbol}"
    try:
        await write(db, symbol, [Trade(1, T0, 101.5, 1.0, False)])
        for w in workers:  # answered (from memory or, cold, from the database) by each
            wait_until(partial(price_of, w, path, 101.5), 60, "the first price")
        # each worker's memory now holds 101.5: only the bus can move it on
        await write(db, symbol, [Trade(2, T0 + 1_000_000, 202.5, 1.0, False)])
        for w in workers:
            wait_until(partial(price_of, w, path, 202.5), 60, "the new price")
            # the snapshot is memory alone, rebuilt on the bus's news: each worker has it
            wait_until(partial(in_snapshot, w, symbol, 202.5), 60, "the new snapshot")
            assert w.get(f"/api/current_price?symbol={symbol}").json()["latest_price"] == 202.5
    finally:
        for w in workers:
            w.close()
