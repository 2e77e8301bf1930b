"""Distributed mode under faults, on this machine's real RabbitMQ and PostgreSQL.

`tickhub tracker` and two `tickhub writer` processes run apart over a throwaway RabbitMQ
vhost and PostgreSQL database; a fake Binance (loopback) plays the venue. Then: kill -9 a
writer mid-stream, restart RabbitMQ, restart PostgreSQL, kill -9 the tracker and start it
again (it resumes from the last stored id and backfills the rest over REST), and send a
message that can never be processed. After each fault the pipeline catches up by itself;
at the end every trade id is stored exactly once, the candles equal a recomputation from
the stored trades, and the poison message sits in the dead-letter queue.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import PG_URL, service_unavailable
from tests.fixtures.fake_binance import FakeBinance
from tests.unit.marketdata.test_candles import close_enough, naive, shape
from tickhub.bus import make_bus
from tickhub.db import create_engine
from tickhub.marketdata.store.candles import ROLLUPS
from tickhub.marketdata.store.repository import MarketDataReads
from tickhub.messages import message_codec
from tickhub.migrate import upgrade

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

AMQP = os.environ.get("TICKHUB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
SYMBOL = "BTCUSDT"


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


async def arun(*cmd: str) -> int:
    """Run a command without blocking the event loop (the venue keeps trading meanwhile)."""
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(proc.wait(), 120)


@pytest.fixture
def vhost() -> Iterator[str]:
    if not shutil.which("rabbitmqctl"):
        service_unavailable("rabbitmqctl", "not installed: the fault tests restart the broker")
    name = f"tickhub_faults_{uuid.uuid4().hex[:8]}"
    added = run("rabbitmqctl", "add_vhost", name)
    if added.returncode != 0:
        service_unavailable(f"RabbitMQ at {AMQP}", added.stderr.strip())
    run("rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield f"{AMQP.rstrip('/')}/{name}"
    run("rabbitmqctl", "delete_vhost", name)


@pytest.fixture
async def database() -> AsyncIterator[str]:
    name = f"tickhub_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        await admin.dispose()
        service_unavailable(f"PostgreSQL at {PG_URL}", repr(exc))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


class Services:
    """`tickhub tracker` / `tickhub writer` processes with their own logs."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "tickhub", command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill9(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> dict[str, int]:
        codes = {}
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(10)
        return codes

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    """Poll `check` until it holds; the pipeline catches up by itself or the test fails."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            if await check():
                return
        except Exception:  # the database may be restarting: keep polling
            pass
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {within_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.25)


async def stored_ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT t.trade_id FROM trades t JOIN instruments i ON i.id = t.instrument_id "
                "WHERE i.symbol = :s ORDER BY t.trade_id"
            ),
            {"s": SYMBOL},
        )
        return [r[0] for r in rows]


async def push_paced(fake: FakeBinance, ids: range, chunk: int = 50) -> None:
    for start in range(ids.start, ids.stop, chunk):
        await fake.push(SYMBOL, range(start, min(start + chunk, ids.stop)))
        await asyncio.sleep(0.01)  # pacing the venue's traffic, not synchronisation


async def test_nothing_lost_nothing_doubled_through_faults(
    vhost: str, database: str, tmp_path: Path
) -> None:
    pg_cluster = _pg_cluster()
    if pg_cluster is None or not shutil.which("pg_ctlcluster"):
        service_unavailable("pg_ctlcluster", "the fault tests restart PostgreSQL")
    engine = create_engine(database)
    async with FakeBinance() as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TICKHUB_")},
            "TICKHUB_DATABASE_URL": database,
            "TICKHUB_BUS_URL": vhost,
            "TICKHUB_SOURCES": "binance",
            "TICKHUB_SYMBOLS": SYMBOL,
            "TICKHUB_BINANCE_WS_URL": fake.ws_url,
            "TICKHUB_BINANCE_REST_URL": fake.rest_url,
            "TICKHUB_BINANCE_BACKOFF_INITIAL_S": "0.05",
            "TICKHUB_BINANCE_BACKOFF_MAX_S": "0.5",
            "TICKHUB_SIM_FALLBACK": "false",
            "TICKHUB_DATA_DIR": str(tmp_path),
            "TICKHUB_LOG_LEVEL": "INFO",
        }
        services = Services(env, tmp_path)
        try:
            services.start("writer-a", "writer")
            services.start("writer-b", "writer")
            services.start("tracker", "tracker")
            await fake.wait_for_connections(1, within_s=60)

            async def has(n: int) -> bool:
                return await stored_ids(engine) == list(range(1, n + 1))

            # 1. kill -9 a writer in the middle of a stream
            pushing = asyncio.create_task(push_paced(fake, range(1, 3001)))
            await eventually(lambda: _count_at_least(engine, 500), 60, "the first trades")
            services.kill9("writer-a")
            await pushing
            services.start("writer-c", "writer")
            await eventually(lambda: has(3000), 90, "ids 1..3000 after a writer was killed")

            # 2. restart RabbitMQ while trades keep coming
            pushing = asyncio.create_task(push_paced(fake, range(3001, 4001), chunk=20))
            assert await arun("rabbitmqctl", "stop_app") == 0
            assert await arun("rabbitmqctl", "start_app") == 0
            await pushing
            await eventually(lambda: has(4000), 120, "ids 1..4000 after a RabbitMQ restart")

            # 3. restart PostgreSQL while trades keep coming
            pushing = asyncio.create_task(push_paced(fake, range(4001, 5001), chunk=20))
            restart = ("pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster, "main", "restart")
            assert await arun(*restart) == 0
            await pushing
            await eventually(lambda: has(5000), 120, "ids 1..5000 after a PostgreSQL restart")

            # 4. kill -9 the tracker; the venue trades on; a new tracker resumes and backfills
            services.kill9("tracker")
            await fake.wait_for(lambda: not fake.open_connections, within_s=30)
            fake.record(SYMBOL, range(5001, 6001))  # traded while no tracker listened
            services.start("tracker-2", "tracker")
            await fake.wait_for_connections(1, within_s=60)
            await fake.wait_for(lambda: bool(fake.open_connections), within_s=60)
            await push_paced(fake, range(6001, 6101))
            await eventually(lambda: has(6100), 120, "ids 1..6100 after the tracker restarted")

            # 5. a message that can never be processed goes to the dead-letter queue
            await _publish_poison(vhost)
            await push_paced(fake, range(6101, 6201))
            await eventually(lambda: has(6200), 60, "trades published after the poison message")
            bus = make_bus(vhost, codec=message_codec())
            await bus.start()
            try:
                count = getattr(bus, "dead_letter_count")  # noqa: B009 (RabbitMQ only)
                await eventually(lambda: _equals(count("writer"), 1), 30, "one dead letter")
            finally:
                await bus.close()
        finally:
            codes = services.stop_all()
            logs = {name: services.log(name) for name in ("writer-b", "writer-c", "tracker-2")}
    assert all(code == 0 for code in codes.values()), (codes, logs)

    ids = await stored_ids(engine)
    assert ids == list(range(1, 6201))  # every id, exactly once
    async with engine.connect() as conn:
        repo = MarketDataReads(conn)
        (inst,) = await repo.instruments("binance")
        stored = await repo.trades(inst.id, None, None)
        for res in ROLLUPS:
            got = {c.start: shape(c) for c in await repo.candles(inst.id, res, 0, 2**62)}
            want = naive(stored, res)
            assert got.keys() == want.keys()
            assert all(close_enough(got[k], want[k]) for k in got)
        assert [(r.first_id, r.last_id) for r in await repo.coverage(inst.id)] == [(1, 6200)]
    await engine.dispose()


def _pg_cluster() -> str | None:
    """The local PostgreSQL version directory (`15`), as `pg_ctlcluster` wants it."""
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    return versions[0] if versions else None


async def _count_at_least(engine: AsyncEngine, n: int) -> bool:
    return len(await stored_ids(engine)) >= n


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _publish_poison(url: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tickhub")
        await exchange.publish(
            aio_pika.Message(b"\x00 not a tickhub message", delivery_mode=2),
            routing_key=f"trades.binance.{SYMBOL}",
        )
