"""A RabbitMQ writer through a database outage longer than the broker's consumer timeout.

RabbitMQ (3.10 here) closes a channel whose oldest unacked delivery is older than
`consumer_timeout` (30 min by default) and returns its messages; a quorum queue counts
each return as a delivery, and past `x-delivery-limit` dead-letters the message. A
writer that held a good batch while the database was away would so dead-letter it for
the database's sake. The bus puts a fresh copy back before its hold timeout instead.

The test starts its own node with a 3 s consumer timeout (the shared broker is left as
it is) and makes PostgreSQL unreachable through a loopback proxy it cuts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.fixtures.rabbitmq_node import rabbitmq_node
from tests.fixtures.tcp_proxy import TcpProxy
from tickhub.bus.rabbitmq import RabbitBus
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.messages import message_codec

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

CONSUMER_TIMEOUT_MS = 3000
DELIVERY_LIMIT = 2  # the queue's x-delivery-limit (max_retries)


@pytest.fixture(scope="module")
def short_timeout_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("rabbitmq-node")
    with rabbitmq_node(base, consumer_timeout_ms=CONSUMER_TIMEOUT_MS) as url:
        yield url


@pytest.fixture
async def database_proxy(pg_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    proxy = TcpProxy(pg_url)
    url = await proxy.start()
    yield proxy, url
    await proxy.close()


async def eventually(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_good_batch_outlives_a_database_outage_longer_than_the_consumer_timeout(
    short_timeout_broker: str, database_proxy: tuple[TcpProxy, str], pg_url: str
) -> None:
    proxy, via_proxy = database_proxy
    engine = create_engine(via_proxy)
    writer = Writer(engine, retry_initial_s=0.05, retry_max_s=0.2)
    exchange = f"tickhub-test-{uuid.uuid4().hex[:10]}"
    bus = RabbitBus(
        short_timeout_broker,
        codec=message_codec(),
        exchange=exchange,
        max_retries=DELIVERY_LIMIT,
        retry_backoff=0.0,
        reconnect_min=0.1,
        hold_timeout=1.0,  # below the broker's 3 s
    )
    await bus.start()
    symbol = f"OUT{uuid.uuid4().hex[:6].upper()}"
    batch = TradeBatch(
        "binance",
        symbol,
        tuple(Trade(i, 1_700_000_000_000_000 + i, 10.0, 1.0) for i in range(1, 6)),
    )
    try:
        await bus.subscribe("trades.#", writer.handle, group="writer")
        proxy.refusing = True  # the database is away from here on
        proxy.cut()
        await bus.publish(batch.topic, batch)
        # Held far past consumer timeout x delivery limit (3 s x 3): long enough for the
        # broker to have dead-lettered a batch held the whole time.
        outage_s = CONSUMER_TIMEOUT_MS / 1000 * (DELIVERY_LIMIT + 1) + 3
        started = time.monotonic()
        dead = 0

        async def watch() -> None:
            nonlocal dead
            while time.monotonic() - started < outage_s:
                dead = await bus.dead_letter_count("writer")
                if dead:
                    return
                await asyncio.sleep(0.5)

        await watch()
        assert dead == 0, "a good batch was dead-lettered during the database outage"
        assert writer.stats.new == 0
        assert writer.stats.database_retries > 0
        assert bus.stats.held_requeued >= 2  # put back as fresh copies, not returned

        proxy.refusing = False  # the database is back
        await eventually(lambda: writer.stats.new == 5, 60, "the batch to be written")
        assert await bus.dead_letter_count("writer") == 0
    finally:
        proxy.refusing = False
        await bus.close()
        await engine.dispose()
    check = create_engine(pg_url)
    try:
        async with check.connect() as conn:
            stored = await conn.execute(
                text(
                    "SELECT count(*) FROM trades t JOIN instruments i ON i.id = t.instrument_id "
                    "WHERE i.symbol = :s"
                ),
                {"s": symbol},
            )
            assert stored.scalar_one() == 5
    finally:
        await check.dispose()
