"""Ingest throughput: simulated trades through the in-memory bus and the writer into
SQLite and PostgreSQL, beside the seed style (one INSERT and one COMMIT per trade)
measured in the same run on the same database.

    .venv/bin/python bench/ingest.py [--trades 1000000] [--seed-trades 20000] [--no-pg]

The simulated batches are generated before the clock starts, so the figure is the
pipeline's (bus + writer + database), not the random-number generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from tickhub.bus import MemoryBus
from tickhub.common.time import now_us
from tickhub.db import create_engine
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.sim import SimMarket
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import Settings

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBBTC", "SOLUSDT", "XRPUSDT"]
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_batches(total: int, per_batch: int) -> list[TradeBatch]:
    market = SimMarket(SYMBOLS, seed=1)
    start = now_us() - 86_400_000_000
    out: list[TradeBatch] = []
    stream = market.stream(per_batch, start, step_us=per_batch * 10_000)
    while sum(len(b.trades) for b in out) < total:
        out.append(next(stream))
    return out


async def tickhub_rate(url: str, batches: list[TradeBatch], consumers: int = 2) -> float:
    engine = create_engine(url)
    await upgrade(engine)
    bus = MemoryBus(maxsize=64)
    writer = Writer(engine)
    for _ in range(consumers):
        await bus.subscribe("trades.#", writer.handle, group="writer")
    n = sum(len(b.trades) for b in batches)
    t0 = time.perf_counter()
    for b in batches:
        await bus.publish(b.topic, b)
    await bus.close()
    elapsed = time.perf_counter() - t0
    assert writer.stats.new == n, (writer.stats.new, n)
    await engine.dispose()
    return n / elapsed


async def seed_style_rate(url: str, batches: list[TradeBatch], count: int) -> float:
    """One INSERT and one COMMIT per trade into a seed-like price table."""
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS seed_prices"))
        await conn.execute(
            text(
                "CREATE TABLE seed_prices (id BIGINT, symbol VARCHAR(20), "
                "price DOUBLE PRECISION, ts BIGINT, PRIMARY KEY (symbol, id))"
            )
        )
    rows = [(b.symbol, t) for b in batches for t in b.trades][:count]
    stmt = text("INSERT INTO seed_prices (id, symbol, price, ts) VALUES (:i, :s, :p, :t)")
    t0 = time.perf_counter()
    async with engine.connect() as conn:
        for symbol, t in rows:
            await conn.execute(stmt, {"i": t.trade_id, "s": symbol, "p": t.price, "t": t.ts})
            await conn.commit()
    elapsed = time.perf_counter() - t0
    await engine.dispose()
    return len(rows) / elapsed


async def pg_database() -> tuple[str, str] | None:
    admin_url = os.environ.get("TICKHUB_TEST_POSTGRES_URL", PG_DEFAULT)
    name = f"tickhub_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
    except Exception as exc:
        print(f"PostgreSQL: skipped ({exc!r})")
        return None
    return admin_url, make_url(admin_url).set(database=name).render_as_string(False)


async def drop_pg(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await admin.dispose()


def report(name: str, fast: float, seed: float) -> None:
    print(
        f"{name:<11} tickhub {fast:>10,.0f} trades/s | seed style {seed:>8,.0f} trades/s"
        f" | ratio {fast / seed:>6.1f}x"
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=1_000_000)
    ap.add_argument("--seed-trades", type=int, default=20_000)
    defaults = Settings(_env_file=None)
    ap.add_argument("--batch", type=int, default=defaults.batch_max_trades)
    ap.add_argument("--writers", type=int, default=defaults.writer_concurrency)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    batches = make_batches(args.trades, args.batch)
    print(
        f"{sum(len(b.trades) for b in batches):,} simulated trades over {len(SYMBOLS)} "
        f"instruments in batches of {args.batch:,} (the tracker's default), "
        f"{args.writers} writer tasks; python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        fast = await tickhub_rate(f"sqlite:///{Path(tmp) / 'bench.db'}", batches, args.writers)
        seed = await seed_style_rate(
            f"sqlite:///{Path(tmp) / 'seed.db'}", batches, args.seed_trades
        )
        report("SQLite", fast, seed)
    if not args.no_pg:
        dbs = await pg_database()
        if dbs:
            admin_url, url = dbs
            try:
                fast = await tickhub_rate(url, batches, args.writers)
                seed = await seed_style_rate(url, batches, args.seed_trades)
                report("PostgreSQL", fast, seed)
            finally:
                await drop_pg(admin_url, url)


if __name__ == "__main__":
    asyncio.run(main())
