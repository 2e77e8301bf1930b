"""Candle query latency with 10 million trades stored (one instrument, one year).

Chart-sized answers: 1m over a day (1,440 candles), 1h over a month (720), 1d over a
year (365), served by tickhub from its rollups, beside the obvious GROUP BY over the raw
trades measured in the same run on the same database.

    .venv/bin/python bench/candles.py [--trades 10000000] [--queries 200] [--pg]

Loading goes through the real writer (so the rollups are the ones tickhub keeps); the
database file is kept in ./data/bench-candles.db and reused by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.common.time import datetime_to_us
from tickhub.db import create_engine
from tickhub.marketdata import service
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.sim import SimMarket
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE, parse_interval
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade

YEAR_START = datetime_to_us(datetime(2025, 1, 1, tzinfo=UTC))
YEAR = 365 * DAY
SYMBOL = "BTCUSDT"


async def load(engine: AsyncEngine, total: int) -> None:
    async with engine.connect() as conn:
        have = (await conn.execute(text("SELECT count(*) FROM trades"))).scalar_one()
    if have >= total:
        print(f"reusing {have:,} stored trades")
        return
    writer = Writer(engine)
    market = SimMarket([SYMBOL], seed=7)
    per_batch = 50_000
    step = YEAR * per_batch // total
    t0 = time.perf_counter()
    for k in range(total // per_batch):
        start = YEAR_START + k * step
        trades = market.trades(SYMBOL, per_batch, start, start + step)
        await writer.write(TradeBatch("sim", SYMBOL, tuple(trades), simulated=True))
        if k % 20 == 0:
            print(f"\rloading: {(k + 1) * per_batch:,} trades", end="", flush=True)
    print(f"\rloaded {total:,} trades in {time.perf_counter() - t0:.0f} s")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--baseline-queries", type=int, default=10)
    ap.add_argument("--db", default="sqlite:///data/bench-candles.db")
    args = ap.parse_args()
    if args.db.startswith("sqlite:///"):
        Path(args.db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(args.db)
    await upgrade(engine)
    await load(engine, args.trades)
    rnd = random.Random(1)
    cases = [("1m over a day", "1m", DAY, MINUTE), ("1h over a month", "1h", 30 * DAY, HOUR),
             ("1d over a year", "1d", YEAR, DAY)]  # fmt: skip
    async with engine.connect() as conn:
        md = service.reads_on(conn)
        inst = await service.resolve_instrument(md, SYMBOL, "sim")
        print(f"{'query':<16} {'candles':>7} {'tickhub p50':>12} {'p95':>9} "
              f"{'GROUP BY p50':>13} {'p95':>9} {'ratio p50':>10}")  # fmt: skip
        for name, iv_text, span, res in cases:
            iv = parse_interval(iv_text)
            fast: list[float] = []
            n_candles = 0
            for _ in range(args.queries):
                start = YEAR_START + rnd.randrange(0, max((YEAR - span) // res, 1)) * res
                t0 = time.perf_counter()
                out = await service.candles(md, inst, iv, start, start + span)
                fast.append((time.perf_counter() - t0) * 1000)
                n_candles = max(n_candles, len(out))
            slow: list[float] = []
            sql = text(
                "SELECT ts - ts % :res AS b, min(price), max(price), sum(qty), count(*) "
                "FROM trades WHERE instrument_id = :i AND ts >= :s AND ts < :e "
                "GROUP BY b ORDER BY b"
            )
            for _ in range(args.baseline_queries):
                start = YEAR_START + rnd.randrange(0, max((YEAR - span) // res, 1)) * res
                t0 = time.perf_counter()
                rows = (
                    await conn.execute(
                        sql, {"res": res, "i": inst.id, "s": start, "e": start + span}
                    )
                ).all()
                slow.append((time.perf_counter() - t0) * 1000)
                assert len(rows) >= n_candles * 0.9
            f50, f95, s50, s95 = pct(fast, 50), pct(fast, 95), pct(slow, 50), pct(slow, 95)
            print(f"{name:<16} {n_candles:>7} {f50:>9.2f} ms {f95:>6.2f} ms "
                  f"{s50:>10.1f} ms {s95:>6.1f} ms {s50 / f50:>9.0f}x")  # fmt: skip
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
