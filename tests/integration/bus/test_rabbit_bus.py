"""The bus contract on RabbitMQ, and what only a broker can show: confirms, competing
processes, dead letters, dropped connections.

RabbitMQ tests run against `TICKHUB_TEST_AMQP_URL` (default: the local broker, guest/guest).
When it cannot be reached they are skipped with the reason, unless
`TICKHUB_REQUIRE_SERVICES=1`. Each test uses its own exchange (and so its own queue names)
and deletes what it declared. Dropped connections are made with a TCP proxy the test cuts.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pytest

from tests.conftest import service_unavailable
from tests.fixtures.tcp_proxy import TcpProxy
from tickhub.bus import Bus, MemoryBus, make_bus
from tickhub.bus.rabbitmq import BusUnavailableError, RabbitBus
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.messages import message_codec

AMQP_URL = os.environ.get("TICKHUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

BusFactory = Callable[..., Awaitable[Bus]]


def batch(i: int, symbol: str = "BTCUSDT", n: int = 1) -> TradeBatch:
    """A batch whose first trade id is `i`: the tests' message numbering."""
    return TradeBatch(
        "binance",
        symbol,
        tuple(Trade(i + k, 1_700_000_000_000_000 + i + k, 1.5, 2.0) for k in range(n)),
    )


def number(message: object) -> int:
    assert isinstance(message, TradeBatch)
    return message.trades[0].trade_id


async def eventually(check: Callable[[], bool], within: float = 20.0, what: str = "") -> None:
    """Wait for a condition (no fixed sleeps)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or check}")
        await asyncio.sleep(0.01)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def amqp_url() -> str:
    parts = urlsplit(AMQP_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 3).close()
    except OSError as exc:
        service_unavailable(f"RabbitMQ at {parts.hostname}:{parts.port or 5672}", repr(exc))
    return AMQP_URL


class Rabbits:
    """Buses of one test: one fresh exchange, so fresh queues; everything deleted at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.exchange = f"tickhub-test-{uuid.uuid4().hex[:10]}"
        self.buses: list[RabbitBus] = []

    async def bus(self, *, url: str | None = None, start: bool = True, **options: Any) -> RabbitBus:
        options.setdefault("retry_backoff", 0.0)
        options.setdefault("reconnect_min", 0.1)
        options.setdefault("name", f"{self.exchange}-{len(self.buses)}")
        bus = RabbitBus(url or self.url, codec=message_codec(), exchange=self.exchange, **options)
        self.buses.append(bus)
        if start:
            await bus.start()
        return bus

    async def close_buses(self) -> None:
        for bus in self.buses:
            await asyncio.wait_for(bus.close(), 30)

    async def cleanup(self) -> None:
        await self.close_buses()
        queues = set().union(*(bus.declared_queues for bus in self.buses))
        connection = await aio_pika.connect(self.url)
        async with connection:
            channel = await connection.channel()
            for name in sorted(queues):
                await channel.queue_delete(name)
            for name in (self.exchange, f"{self.exchange}.dead"):
                await channel.exchange_delete(name)


@pytest.fixture
async def rabbits(amqp_url: str) -> AsyncIterator[Rabbits]:
    r = Rabbits(amqp_url)
    yield r
    await r.cleanup()


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
async def new_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """The same contract tests on both buses: `await new_bus(max_retries=, live_max=)`."""
    if request.param == "memory":

        async def make_memory(*, max_retries: int = 3, live_max: int = 1000) -> Bus:
            bus = MemoryBus(max_retries=max_retries, maxsize=live_max)
            await bus.start()
            return bus

        yield make_memory
        return
    r = Rabbits(request.getfixturevalue("amqp_url"))

    async def make_rabbit(*, max_retries: int = 3, live_max: int = 1000) -> Bus:
        return await r.bus(max_retries=max_retries, live_max_length=live_max)

    yield make_rabbit
    await r.cleanup()


@pytest.fixture
async def proxy(rabbits: Rabbits) -> AsyncIterator[tuple[TcpProxy, str]]:
    p = TcpProxy(rabbits.url)
    url = await p.start()
    yield p, url
    p.refusing = False
    await rabbits.close_buses()  # while the proxy still forwards
    await p.close()


# --- the contract, on both buses ------------------------------------------------------------


async def test_groups_compete_and_ungrouped_subscribers_each_get_everything(
    new_bus: BusFactory,
) -> None:
    bus = await new_bus()
    got: dict[str, list[int]] = {"w1": [], "w2": [], "view": []}

    def collector(name: str) -> Callable[[str, object], Awaitable[None]]:
        async def handle(_topic: str, msg: object) -> None:
            got[name].append(number(msg))

        return handle

    await bus.subscribe("trades.#", collector("w1"), group="writer")
    await bus.subscribe("trades.#", collector("w2"), group="writer")
    await bus.subscribe("trades.#", collector("view"))
    await bus.subscribe("candles.#", collector("view"))  # matches nothing published here
    for i in range(100):
        m = batch(i, f"S{i % 3}")
        await bus.publish(m.topic, m)
    await bus.join()
    await bus.close()
    assert sorted(got["w1"] + got["w2"]) == list(range(100))  # each exactly once
    assert got["view"] == list(range(100))  # everything, in order
    assert bus.stats.published == 100
    assert bus.stats.delivered == 200


async def test_failing_handler_is_retried_then_dead_lettered_and_others_go_on(
    new_bus: BusFactory,
) -> None:
    bus = await new_bus(max_retries=2)
    attempts: dict[int, int] = {}
    ok: list[int] = []

    async def handle(_topic: str, msg: object) -> None:
        i = number(msg)
        attempts[i] = attempts.get(i, 0) + 1
        if i == 3:
            raise ValueError("poison")
        ok.append(i)

    await bus.subscribe("trades.#", handle, group="g")
    for i in range(6):
        await bus.publish(batch(i).topic, batch(i))
    await bus.join()
    await bus.close()
    assert sorted(ok) == [0, 1, 2, 4, 5]
    assert attempts[3] == 3
    assert bus.stats.retried == 2
    assert bus.stats.dead_lettered == 1
    assert bus.stats.dead_letters[0].message == batch(3)
    assert "poison" in bus.stats.dead_letters[0].error


async def test_live_subscriber_drops_oldest_instead_of_blocking(new_bus: BusFactory) -> None:
    bus = await new_bus(live_max=4)
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(_topic: str, msg: object) -> None:
        await release.wait()
        seen.append(number(msg))

    await bus.subscribe("trades.#", slow, live=True)
    for i in range(50):  # would block if the live queue applied back-pressure
        await asyncio.wait_for(bus.publish(batch(i).topic, batch(i)), 2)
    release.set()
    await bus.join()
    await bus.close()
    assert seen[-1] == 49
    assert len(seen) < 50
    assert seen == sorted(seen)
    if isinstance(bus, MemoryBus):  # RabbitMQ drops at the broker, out of the client's sight
        assert bus.stats.dropped_live > 0


# --- RabbitMQ only --------------------------------------------------------------------------


def test_make_bus_picks_the_implementation_from_the_url() -> None:
    codec = message_codec()
    assert isinstance(make_bus("memory://", codec=codec), MemoryBus)
    rabbit = make_bus("amqp://guest:guest@127.0.0.1:5672/", codec=codec, exchange="x", prefetch=3)
    assert isinstance(rabbit, RabbitBus)
    assert (rabbit.exchange, rabbit.prefetch, rabbit.codec) == ("x", 3, codec)
    with pytest.raises(ValueError, match="unsupported bus URL"):
        make_bus("redis://localhost", codec=codec)


@pytest.mark.rabbitmq
async def test_trade_batch_round_trips_through_rabbitmq(rabbits: Rabbits) -> None:
    bus = await rabbits.bus()
    rnd = random.Random(5)
    sent = TradeBatch(
        "binance",
        "BTCUSDT",
        tuple(
            Trade(
                10**12 + i,
                1_700_000_000_000_000 + i,
                rnd.uniform(1e-8, 1e5),
                rnd.random(),
                rnd.choice([True, False, None]),
            )
            for i in range(5000)
        ),
        base="BTC",
        quote="USDT",
        simulated=True,
    )
    got: list[tuple[str, object]] = []

    async def handle(topic: str, msg: object) -> None:
        got.append((topic, msg))

    await bus.subscribe("trades.binance.*", handle, group="writer")
    await bus.publish(sent.topic, sent)
    await bus.join()
    assert got == [("trades.binance.BTCUSDT", sent)]


@pytest.mark.rabbitmq
async def test_two_processes_in_one_group_split_the_work_exactly_once(rabbits: Rabbits) -> None:
    one, two, publisher = await rabbits.bus(), await rabbits.bus(), await rabbits.bus()
    seen: dict[str, list[int]] = {"one": [], "two": []}

    def worker(name: str) -> Callable[[str, object], Awaitable[None]]:
        async def handle(_topic: str, msg: object) -> None:
            await asyncio.sleep(0.001)  # some work, so that both get a share
            seen[name].append(number(msg))

        return handle

    await one.subscribe("trades.#", worker("one"), group="writer")
    await two.subscribe("trades.#", worker("two"), group="writer")
    await asyncio.gather(*(publisher.publish(batch(i).topic, batch(i)) for i in range(300)))
    await eventually(lambda: len(seen["one"]) + len(seen["two"]) >= 300, what="all 300")
    await one.join()
    await two.join()
    assert sorted(seen["one"] + seen["two"]) == list(range(300))
    assert seen["one"] and seen["two"]


@pytest.mark.rabbitmq
async def test_a_handler_that_fails_once_gets_the_message_again(rabbits: Rabbits) -> None:
    bus = await rabbits.bus(max_retries=3)
    calls: list[int] = []

    async def flaky(_topic: str, msg: object) -> None:
        calls.append(number(msg))
        if calls.count(number(msg)) == 1 and number(msg) == 7:
            raise ConnectionError("database went away")

    await bus.subscribe("trades.#", flaky, group="writer")
    for i in range(5, 10):
        await bus.publish(batch(i).topic, batch(i))
    await bus.join()
    assert sorted(calls) == [5, 6, 7, 7, 8, 9]
    assert (bus.stats.retried, bus.stats.dead_lettered, bus.stats.delivered) == (1, 0, 5)
    assert await bus.dead_letter_count("writer") == 0


@pytest.mark.rabbitmq
async def test_poison_is_dead_lettered_counted_inspectable_and_blocks_nothing(
    rabbits: Rabbits,
) -> None:
    bus = await rabbits.bus(max_retries=2)
    ok: list[int] = []
    attempts = 0

    async def handle(_topic: str, msg: object) -> None:
        nonlocal attempts
        if number(msg) == 666:
            attempts += 1
            raise ValueError("cannot store this")
        ok.append(number(msg))

    await bus.subscribe("trades.#", handle, group="writer")
    await bus.publish("trades.binance.BTCUSDT", batch(666))
    for i in range(20):
        await bus.publish(batch(i).topic, batch(i))
    # A body no reader understands goes straight to the dead letters (no retries).
    connection = await aio_pika.connect(rabbits.url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(rabbits.exchange)
        await exchange.publish(aio_pika.Message(b"\x00garbage"), routing_key="trades.x.Y")
    await bus.join()
    assert sorted(ok) == list(range(20))
    assert attempts == 3
    assert bus.stats.dead_lettered == 2

    # Dead-lettering is asynchronous in the broker (at least once): wait for both.
    deadline = time.monotonic() + 20
    while (count := await bus.dead_letter_count("writer")) < 2:
        assert time.monotonic() < deadline, f"{count} dead letters after 20s"
        await asyncio.sleep(0.01)
    letters = {d.topic: d for d in await bus.dead_letters("writer")}  # either may come first
    assert sorted(letters) == ["trades.binance.BTCUSDT", "trades.x.Y"]
    poison, garbage = letters["trades.binance.BTCUSDT"], letters["trades.x.Y"]
    assert poison.message == batch(666)
    assert poison.error.startswith(f"delivery_limit in {rabbits.exchange}.writer:trades.#")
    assert garbage.message == b"\x00garbage"
    assert garbage.error.startswith(f"rejected in {rabbits.exchange}.writer:trades.#")
    assert "undecodable: body is not JSON" in garbage.error
    # Peeking leaves them there (returned to the queue as the peek ends).
    deadline = time.monotonic() + 20
    while (count := await bus.dead_letter_count("writer")) < 2:
        assert time.monotonic() < deadline, f"{count} dead letters after a peek"
        await asyncio.sleep(0.01)
    assert len(await bus.dead_letters("writer", limit=1)) == 1
    assert await bus.dead_letters("nobody") == []
    assert await bus.dead_letter_count("nobody") == 0


@pytest.mark.rabbitmq
async def test_a_confirmed_publish_survives_a_dropped_connection(
    rabbits: Rabbits, proxy: tuple[TcpProxy, str]
) -> None:
    tcp, via_proxy = proxy
    publisher = await rabbits.bus(url=via_proxy)
    await publisher.declare("trades.#", group="writer")  # the queue exists before any consumer
    await asyncio.gather(*(publisher.publish(batch(i).topic, batch(i)) for i in range(200)))
    tcp.refusing = True
    tcp.cut()  # the publisher's connection dies the moment its publishes returned
    consumer = await rabbits.bus()
    got: set[int] = set()

    async def handle(_topic: str, msg: object) -> None:
        got.add(number(msg))

    await consumer.subscribe("trades.#", handle, group="writer")
    await consumer.join()
    assert got == set(range(200))


@pytest.mark.rabbitmq
async def test_publish_waits_for_the_broker_and_then_fails_loudly(
    rabbits: Rabbits, proxy: tuple[TcpProxy, str]
) -> None:
    tcp, via_proxy = proxy
    bus = await rabbits.bus(url=via_proxy, publish_timeout=1.0)
    tcp.refusing = True
    tcp.cut()
    with pytest.raises(BusUnavailableError, match="not confirmed"):
        await bus.publish(batch(1).topic, batch(1))
    assert bus.stats.published == 0

    # Back within the timeout: the publish waits, then goes through.
    bus.publish_timeout = 20.0
    pending = asyncio.create_task(bus.publish(batch(2).topic, batch(2)))
    await asyncio.sleep(0.3)  # the broker stays away for a while
    assert not pending.done()
    tcp.refusing = False
    await asyncio.wait_for(pending, 20)
    assert bus.stats.published == 1

    # Closing while the broker is away does not wait on it.
    async def ignore(_topic: str, _msg: object) -> None:
        pass

    await bus.subscribe("trades.#", ignore, group="writer")
    tcp.refusing = True
    tcp.cut()
    await eventually(lambda: not bus._online(), what="the drop to be noticed")
    # The broker never comes back (it refuses), so a close that waited on it would never
    # end: ending at all is the proof.
    await asyncio.wait_for(bus.close(), 5)


@pytest.mark.rabbitmq
async def test_start_gives_up_on_an_unreachable_broker(rabbits: Rabbits) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    bus = await rabbits.bus(
        url=f"amqp://guest:guest@127.0.0.1:{port}/", start=False, connect_timeout=0.5
    )
    with pytest.raises(BusUnavailableError, match="not reachable"):
        await bus.start()


def _rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _connection_pids(*names: str) -> list[str]:
    listed = _rabbitmqctl("list_connections", "pid", "client_properties")
    return [
        line.split("\t")[0]
        for line in listed.splitlines()
        if any(f'"{name}"' in line for name in names)
    ]


def _broker_close(*names: str) -> None:
    """Close connections from the broker's side, as a broker restart or an operator would."""
    pids = _connection_pids(*names)
    assert len(pids) == len(names), f"connections {names} not found"
    for pid in pids:
        _rabbitmqctl("close_connection", pid, "closed by a test")


@pytest.mark.rabbitmq
@pytest.mark.parametrize("drop", ["network", "broker"])
async def test_nothing_is_lost_when_connections_drop_while_publishing_and_consuming(
    rabbits: Rabbits, proxy: tuple[TcpProxy, str], drop: str
) -> None:
    tcp, via_proxy = proxy
    names = (f"{rabbits.exchange}-publisher", f"{rabbits.exchange}-consumer")
    publisher = await rabbits.bus(url=via_proxy, name=names[0])
    consumer = await rabbits.bus(url=via_proxy, name=names[1])
    if drop == "broker":
        try:
            assert shutil.which("rabbitmqctl"), "not installed"
            assert len(await asyncio.to_thread(_connection_pids, *names)) == 2, "no connections"
        except (AssertionError, RuntimeError, OSError) as exc:
            pytest.skip(f"rabbitmqctl cannot close this broker's connections: {exc}")
    seen: list[int] = []

    async def handle(_topic: str, msg: object) -> None:
        await asyncio.sleep(0.0005)
        seen.append(number(msg))

    await consumer.subscribe("trades.#", handle, group="writer")
    total, published = 600, 0

    async def publish_all() -> None:
        nonlocal published
        for i in range(total):
            await publisher.publish(batch(i).topic, batch(i))
            published += 1

    task = asyncio.create_task(publish_all())
    for k in (1, 2):

        def progressed(k: int = k) -> bool:
            return published >= k * total // 3 and len(seen) > 0

        await eventually(progressed, what="progress")
        before = tcp.accepted
        if drop == "network":
            if k == 2:  # the second time the broker stays unreachable for a while
                tcp.refusing = True
            tcp.cut()
            if k == 2:
                await asyncio.sleep(0.5)
                tcp.refusing = False
        else:
            await asyncio.to_thread(_broker_close, *names)

        def reconnected(before: int = before) -> bool:
            return tcp.accepted >= before + 2

        await eventually(reconnected, what="reconnects")
    await asyncio.wait_for(task, 60)
    await eventually(lambda: set(seen) >= set(range(total)), within=60, what="every id")
    await consumer.join()
    assert set(seen) == set(range(total))  # nothing lost; a few may come twice
    assert publisher.stats.published == total


@pytest.mark.rabbitmq
async def test_throughput_of_5000_trade_batches(
    rabbits: Rabbits, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prints (does not assert) publish -> consume -> ack rates on this machine."""
    n, size, window = 200, 5000, 32
    publisher = await rabbits.bus()
    consumer = await rabbits.bus()
    batches = [batch(k * size, n=size) for k in range(8)]
    count = 0
    done = asyncio.Event()

    async def handle(_topic: str, _msg: object) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    await consumer.subscribe("trades.#", handle, group="writer")
    gate = asyncio.Semaphore(window)

    async def one(k: int) -> None:
        async with gate:
            await publisher.publish("trades.binance.BTCUSDT", batches[k % 8])

    start = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(n)))
    published = time.perf_counter() - start
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\nRabbitBus, TradeBatch of {size} trades, prefetch {consumer.prefetch}: "
            f"publish (confirmed) {n / published:,.0f} msg/s; publish -> consume -> ack "
            f"{n / elapsed:,.0f} msg/s = {n * size / elapsed:,.0f} trades/s"
        )
