"""Distributed ingest: simulated trades through RabbitMQ (durable, confirmed) and writer
processes into PostgreSQL, beside the seed 001 style (one message per trade, auto-ack, one
INSERT and one COMMIT per row) measured in the same run on the same broker and database;
then the freshness of the API (trade time → visible in GET /v1/prices) at a paced rate.

    .venv/bin/python bench/ingest_distributed.py [--trades 1000000] [--writers 2]
        [--seed-trades 20000] [--fresh-rate 5000] [--fresh-seconds 20]

Needs RabbitMQ (`rabbitmqctl` on PATH, to make a throwaway vhost) and PostgreSQL; the URLs
come from TICKHUB_TEST_AMQP_URL and TICKHUB_TEST_POSTGRES_URL (default: the local ones).
Each run uses its own vhost and database and deletes them at the end.

Throughput: the batches are generated before the clock starts; the clock runs from the first
publish to the moment the coverage table accounts for every trade. The writers are
`tickhub writer` processes, as in production. The CPU seconds each component used over the
run (from /proc) say where the time went: PostgreSQL counts the server's own processes and
the sessions on the bench database, RabbitMQ the whole broker, and `other` is the rest of
the machine's busy time (other work running meanwhile).

Freshness: `tickhub api` runs beside the writers; a paced publisher stamps sim trades with the
current time and publishes a batch per instrument every `batch_max_delay_s` (as the tracker
does; the instruments take turns); one poller per instrument asks GET
/v1/prices/sim/{symbol} in a loop while one of its batches is not yet visible, and a batch is
visible once the answer's trade_id reaches the batch's last id. Latency = the moment that
answer arrived − the trade's time, so it includes up to one poll period (printed). The
first seconds are warm-up and not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import asyncpg

from cluster import (
    Child,
    CpuMeter,
    child_env,
    consumers,
    cpu_line,
    pids_named,
    postgres_pids,
    scratch,
    spawn,
    until,
    wait_http,
)
from freshness import SYMBOLS, free_port, freshness, pct, print_freshness
from tickhub.bootstrap import declare_writer_queues
from tickhub.bus.rabbitmq import RabbitBus
from tickhub.common.time import now_us
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.sim import SimMarket
from tickhub.messages import message_codec
from tickhub.settings import Settings

AMQP_DEFAULT = "amqp://guest:guest@127.0.0.1:5672/"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
WRITER_QUEUE = "tickhub.writer:trades.#"  # RabbitBus().group_queue("trades.#", "writer")
SEED_QUEUE = "seed_prices"
STORED_SQL = "SELECT coalesce(sum(last_id - first_id + 1), 0)::bigint FROM coverage"
GOAL_RATE, GOAL_RATIO, GOAL_P99_MS = 100_000, 50, 200


# --- throughput -------------------------------------------------------------------------------


def make_batches(total: int, per_batch: int) -> list[TradeBatch]:
    market = SimMarket(SYMBOLS, seed=1)
    start = now_us() - 86_400_000_000
    out: list[TradeBatch] = []
    stream = market.stream(per_batch, start, step_us=per_batch * 10_000)
    while sum(len(b.trades) for b in out) < total:
        out.append(next(stream))
    return out


@dataclass
class Throughput:
    trades: int
    confirmed_s: float
    stored_s: float
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.trades / self.stored_s


async def tickhub_rate(
    bus_url: str, db_url: str, batches: list[TradeBatch], in_flight: int, meter: CpuMeter
) -> Throughput:
    total = sum(len(b.trades) for b in batches)
    bus = RabbitBus(bus_url, codec=message_codec(), name="bench-publisher")
    await bus.start()
    db = await asyncpg.connect(db_url)
    gate = asyncio.Semaphore(in_flight)
    confirmed = 0.0

    async def send(batch: TradeBatch) -> None:
        async with gate:
            await bus.publish(batch.topic, batch)

    async def publish_all() -> None:
        nonlocal confirmed
        await asyncio.gather(*(send(b) for b in batches))
        confirmed = time.perf_counter() - t0

    async def all_stored() -> bool:
        return int(await db.fetchval(STORED_SQL)) >= total

    try:
        meter.start()
        t0 = time.perf_counter()
        publishing = asyncio.create_task(publish_all())
        await until(all_stored, within=600, every=0.01)
        stored = time.perf_counter() - t0
        meter.stop()
        await publishing
        rows = int(await db.fetchval("SELECT count(*) FROM trades"))
        assert rows == total, (rows, total)
    finally:
        await db.close()
        await bus.close()
    return Throughput(total, confirmed, stored, dict(meter.used))


# --- the seed 001 style -----------------------------------------------------------------------

SEED_TABLE = (
    "CREATE TABLE seed_prices (id SERIAL PRIMARY KEY, ticker VARCHAR(20) NOT NULL, "
    "price NUMERIC NOT NULL, timestamp TIMESTAMPTZ NOT NULL)"
)
SEED_INSERT = "INSERT INTO seed_prices (ticker, price, timestamp) VALUES ($1, $2, $3)"


def seed_consumer(bus_url: str, db_url: str) -> None:
    """The seed's db-handler: one JSON message per price, auto-ack, one INSERT and one
    COMMIT per message (run in its own process)."""
    asyncio.run(_seed_consume(bus_url, db_url))


async def _seed_consume(bus_url: str, db_url: str) -> None:
    db = await asyncpg.connect(db_url)
    connection = await aio_pika.connect(bus_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(SEED_QUEUE)
    async with queue.iterator(no_ack=True) as messages:
        async for message in messages:
            item = json.loads(message.body)
            async with db.transaction():  # BEGIN, INSERT, COMMIT
                await db.execute(
                    SEED_INSERT,
                    item["ticker"],
                    Decimal(item["price"]),
                    datetime.fromisoformat(item["timestamp"]),
                )


async def seed_style_rate(
    bus_url: str, db_url: str, batches: list[TradeBatch], count: int, meter: CpuMeter
) -> Throughput:
    rows = [(b.symbol, t) for b in batches for t in b.trades][:count]
    db = await asyncpg.connect(db_url)
    await db.execute(SEED_TABLE)
    connection = await aio_pika.connect(bus_url)
    channel = await connection.channel(publisher_confirms=False)  # as pika's basic_publish
    await channel.declare_queue(SEED_QUEUE)
    process = multiprocessing.get_context("spawn").Process(
        target=seed_consumer, args=(bus_url, db_url), daemon=True
    )
    process.start()
    meter.groups["seed consumer"] = lambda: [p for p in (process.pid,) if p]

    async def stored() -> bool:
        return int(await db.fetchval("SELECT count(*) FROM seed_prices")) >= len(rows)

    async def ready() -> bool:
        if not process.is_alive():
            raise RuntimeError(f"seed consumer exited ({process.exitcode})")
        return await consumers(bus_url, SEED_QUEUE) >= 1

    try:
        await until(ready, within=60, every=0.1)
        meter.start()
        t0 = time.perf_counter()
        for symbol, t in rows:
            item = {
                "exchange": "sim",
                "ticker": symbol,
                "price": str(t.price),
                "timestamp": datetime.fromtimestamp(t.ts / 1e6, UTC).isoformat(),
            }
            await channel.default_exchange.publish(
                aio_pika.Message(json.dumps(item).encode()), routing_key=SEED_QUEUE
            )
        await until(stored, within=600, every=0.02)
        elapsed = time.perf_counter() - t0
        meter.stop()
    finally:
        process.terminate()
        await asyncio.to_thread(process.join, 10)
        await connection.close()
        await db.close()
    return Throughput(len(rows), elapsed, elapsed, dict(meter.used))


# --- report -----------------------------------------------------------------------------------


async def server_versions(amqp_url: str, pg_url: str) -> tuple[str, str]:
    db = await asyncpg.connect(pg_url)
    try:
        pg = str(await db.fetchval("SHOW server_version"))
    finally:
        await db.close()
    connection = await aio_pika.connect(amqp_url)
    try:
        underlay = connection.transport
        assert underlay is not None
        props = underlay.connection.server_properties
        rabbit = f"{props.get('version')!s} ({props.get('platform')!s})"
    finally:
        await connection.close()
    return pg, rabbit


async def main() -> None:
    defaults = Settings(_env_file=None)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--writers", type=int, default=2, help="writer processes")
    ap.add_argument("--writer-tasks", type=int, default=defaults.writer_concurrency)
    ap.add_argument("--batch", type=int, default=defaults.batch_max_trades)
    ap.add_argument("--in-flight", type=int, default=16, help="unconfirmed publishes at most")
    ap.add_argument("--seed-trades", type=int, default=20_000)
    ap.add_argument("--fresh-rate", type=float, default=5_000, help="trades/s; 0 skips")
    ap.add_argument("--fresh-seconds", type=float, default=20.0)
    ap.add_argument("--fresh-warmup", type=float, default=2.0)
    ap.add_argument("--poll-ms", type=float, default=5.0, help="pause between two polls")
    args = ap.parse_args()
    amqp_url = os.environ.get("TICKHUB_TEST_AMQP_URL", AMQP_DEFAULT)
    pg_url = os.environ.get("TICKHUB_TEST_POSTGRES_URL", PG_DEFAULT)

    pg_version, rabbit_version = await server_versions(amqp_url, pg_url)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{os.cpu_count()} cores (load {load}), python {sys.version.split()[0]}, "
        f"PostgreSQL {pg_version}, RabbitMQ {rabbit_version}"
    )
    batches = make_batches(args.trades, args.batch)
    total = sum(len(b.trades) for b in batches)
    print(
        f"{total:,} simulated trades over {len(SYMBOLS)} instruments in batches of "
        f"{args.batch:,} (the tracker's default), durable + confirmed, up to {args.in_flight} "
        f"in flight; {args.writers} `tickhub writer` processes × {args.writer_tasks} tasks"
    )
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="tickhub-bench-") as tmp_name:
        tmp = Path(tmp_name)
        async with scratch(amqp_url, pg_url, uuid.uuid4().hex[:8]) as (bus_url, db_url):
            try:
                await run(args, defaults, bus_url, db_url, batches, tmp, children)
            except BaseException:
                for child in children:
                    tail = child.log.read_text(errors="replace")[-3000:]
                    if tail.strip():
                        print(f"--- {child.name} log:\n{tail}", file=sys.stderr)
                raise
            finally:
                await asyncio.gather(*(c.stop() for c in children))


async def run(
    args: argparse.Namespace,
    defaults: Settings,
    bus_url: str,
    db_url: str,
    batches: list[TradeBatch],
    tmp: Path,
    children: list[Child],
) -> None:
    bus = RabbitBus(bus_url, codec=message_codec(), name="bench-declare")
    await bus.start()
    await declare_writer_queues(bus)  # as `tickhub tracker` does
    await bus.close()
    env = child_env(bus_url, db_url, tmp, TICKHUB_WRITER_CONCURRENCY=str(args.writer_tasks))
    for n in range(args.writers):
        children.append(await spawn(f"writer{n}", ["-m", "tickhub", "writer"], env, tmp))

    async def writers_ready() -> bool:
        for child in children:
            child.check()
        wanted: int = args.writers * args.writer_tasks
        return await consumers(bus_url, WRITER_QUEUE) >= wanted

    await until(writers_ready, within=120, every=0.2)
    writer_pids = [c.proc.pid for c in children]
    groups: dict[str, Callable[[], list[int]]] = {
        "bench process": lambda: [os.getpid()],
        "writers": lambda: writer_pids,
        "RabbitMQ": lambda: pids_named("beam.smp"),
        "PostgreSQL": lambda: postgres_pids(urlsplit(db_url).path.lstrip("/")),
    }

    fast = await tickhub_rate(bus_url, db_url, batches, args.in_flight, CpuMeter(dict(groups)))
    seed = await seed_style_rate(bus_url, db_url, batches, args.seed_trades, CpuMeter(dict(groups)))
    ratio = fast.rate / seed.rate
    print(
        f"RabbitMQ → PostgreSQL  tickhub {fast.rate:>10,.0f} trades/s | "
        f"seed style {seed.rate:>8,.0f} trades/s | ratio {ratio:>6.1f}x"
    )
    print(
        f"  tickhub: all {fast.trades:,} published and confirmed after {fast.confirmed_s:.2f} s "
        f"({fast.trades / fast.confirmed_s:,.0f}/s), all stored after {fast.stored_s:.2f} s"
    )
    print(cpu_line(fast.cpu, fast.stored_s))
    print(f"  seed style: {seed.trades:,} trades stored after {seed.stored_s:.2f} s")
    print(cpu_line(seed.cpu, seed.stored_s))
    goals = [
        f"≥ {GOAL_RATE:,}/s {'met' if fast.rate >= GOAL_RATE else 'NOT met'}",
        f"≥ {GOAL_RATIO}x {'met' if ratio >= GOAL_RATIO else 'NOT met'}",
    ]

    if args.fresh_rate > 0:
        port = free_port()
        api_env = env | {"TICKHUB_HOST": "127.0.0.1", "TICKHUB_PORT": str(port)}
        api = await spawn("api", ["-m", "tickhub", "api"], api_env, tmp)
        children.append(api)
        base_url = f"http://127.0.0.1:{port}"
        await wait_http(base_url, api)
        groups["API"] = lambda: [api.proc.pid]
        fresh = await freshness(
            bus_url,
            db_url,
            base_url,
            rate=args.fresh_rate,
            seconds=args.fresh_seconds,
            warmup=args.fresh_warmup,
            interval=defaults.batch_max_delay_s,
            poll=args.poll_ms / 1000,
            meter=CpuMeter(dict(groups)),
            api_alive=api.check,
        )
        print_freshness(fresh, args, defaults.batch_max_delay_s)
        if len(fresh.from_last_ms) >= 2:
            p99 = pct(fresh.from_last_ms, 99)
            goals.append(f"p99 < {GOAL_P99_MS} ms {'met' if p99 < GOAL_P99_MS else 'NOT met'}")
    print("goals: " + "; ".join(goals))


if __name__ == "__main__":
    asyncio.run(main())
