"""Scanner: 10,000 active strategies over 100 instruments, evaluated at one 1-minute close,
end to end (load the candles, evaluate, claim the marks, store the alerts and their
deliveries), beside a naive loop measured in the same run on the same database: one
strategy at a time, load its candles, `evaluate` it, store its alert, move its mark and
commit.

    .venv/bin/python bench/scanner.py [--strategies 10000] [--instruments 100]
                                      [--naive-sample 300] [--pg]

Strategies come from ten templates with varied parameters (RSI levels, moving-average
crossings, Bollinger bands, MACD, ATR, volume spikes, …) and mixed cooldowns. Candles are
stored through the real writer (two trades a minute per instrument). Each scanner figure
is the median of the scans at three consecutive closes after a first scan that creates
the marks; the naive loop runs on a sample of strategies and is extrapolated (the output
says so).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.accounts.models import User
from tickhub.alerts.language import evaluate, parse
from tickhub.alerts.models import AlertDelivery, AlertRow, Strategy, StrategyMark
from tickhub.alerts.scanner import Scanner
from tickhub.db import create_engine
from tickhub.marketdata import service
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import ScannerSettings

MIN = 60_000_000
END = int(datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
STEADY = 3  # timed scans at consecutive closes

TEMPLATES = [
    lambda r: f"rsi({r.choice([7, 14, 21])}) < {r.randint(20, 40)}",
    lambda r: f"rsi({r.choice([7, 14, 21])}) > {r.randint(60, 80)}",
    lambda r: f"close > sma(close, {r.choice([20, 50, 100])}) * {1 + r.randint(0, 20) / 1000}",
    lambda r: (f"crosses_above(ema(close, {r.choice([5, 9, 12])}), "
               f"ema(close, {r.choice([21, 26, 50])}))"),
    lambda r: f"crosses_below(close, bbands_lower(close, 20, {r.choice([1.5, 2, 2.5])}))",
    lambda r: f"macd_hist(12, 26, 9) > 0 and rsi(14) > {r.randint(45, 60)}",
    lambda r: f"change(close, {r.choice([5, 15, 60])}) <= -{r.randint(1, 30) / 10}",
    lambda r: f"atr(14) / close * 100 > {r.randint(5, 30) / 100}",
    lambda r: f"close >= highest(close, {r.choice([20, 60, 120])}) and volume > sma(volume, 20)",
    lambda r: (f"volume > {r.choice([1.5, 2, 3])} * sma(volume, {r.choice([10, 30])}) "
               "or close < lowest(close, 30) * 1.001"),
]  # fmt: skip
COOLDOWNS = [0, 0, 300, 900, 3600]


async def load(engine: AsyncEngine, instruments: int, minutes: int) -> list[str]:
    rng = np.random.default_rng(7)
    writer = Writer(engine)
    symbols = [f"C{k:03d}USDT" for k in range(instruments)]
    start = END - minutes * MIN
    for k, symbol in enumerate(symbols):
        steps = rng.normal(0, 0.002, 2 * minutes)
        price = 100 * (1 + k) * np.exp(np.cumsum(steps))
        qty = rng.uniform(0.01, 2, 2 * minutes)
        trades = tuple(
            Trade(i + 1, start + (i // 2) * MIN + (1 + 40 * (i % 2)) * 1_000_000,
                  float(price[i]), float(qty[i]))
            for i in range(2 * minutes)
        )  # fmt: skip
        await writer.write(TradeBatch("sim", symbol, trades, simulated=True))
    return symbols


async def add_strategies(engine: AsyncEngine, symbols: list[str], count: int) -> None:
    r = random.Random(3)
    now = datetime.now(UTC)
    users = [str(uuid.uuid4()) for _ in range(100)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(User),
            [{"id": u, "email": f"{u}@example.com", "password_hash": "x", "first_name": "A",
              "last_name": "B", "is_verified": True, "is_admin": False, "created_at": now,
              "password_changed_at": now} for u in users],
        )  # fmt: skip
        rows = [
            {"user_id": users[k % len(users)], "name": f"s{k}",
             "instruments": [f"sim:{symbols[k % len(symbols)]}"], "interval": "1m",
             "interval_s": 60, "condition": r.choice(TEMPLATES)(r),
             "cooldown_s": r.choice(COOLDOWNS),
             "channels": [{"type": "webhook", "url": "https://example.com/h", "secret": "x"}],
             "active": True, "created_at": now, "updated_at": now}
            for k in range(count)
        ]  # fmt: skip
        for part in range(0, len(rows), 1000):
            await conn.execute(insert(Strategy), rows[part : part + 1000])


async def reset(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(AlertDelivery))
        await conn.execute(delete(AlertRow))
        await conn.execute(delete(StrategyMark))


async def tickhub_scans(engine: AsyncEngine, workers: int, history: int) -> dict[str, Any]:
    await reset(engine)
    settings = ScannerSettings(_env_file=None, workers=workers, history=history)
    scanner = Scanner(engine, settings)
    await scanner.start()
    try:
        t0 = time.perf_counter()
        first = await scanner.scan(END - STEADY * MIN)
        first_s = time.perf_counter() - t0
        times, alerts, decisions = [], 0, 0
        for k in range(STEADY - 1, -1, -1):
            t0 = time.perf_counter()
            result = await scanner.scan(END - k * MIN)
            times.append(time.perf_counter() - t0)
            alerts += len(result.alerts)
            decisions += result.decisions
            assert result.failed == 0
    finally:
        await scanner.close()
    return {
        "first": first_s,
        "first_claimed": first.claimed,
        "median": statistics.median(times),
        "times": times,
        "alerts": alerts / STEADY,
        "decisions": decisions / STEADY,
    }


async def naive_loop(engine: AsyncEngine, sample: int, history: int) -> tuple[float, int]:
    """One strategy at a time, as a first implementation would: its candles, `evaluate`,
    its alert, its mark, a commit. Seconds per strategy, and how many were run."""
    await reset(engine)
    s, m = Strategy.__table__.c, StrategyMark.__table__.c
    async with engine.connect() as conn:
        strategies = list(await conn.execute(select(Strategy.__table__).order_by(s.id)))
    picked = random.Random(5).sample(strategies, min(sample, len(strategies)))
    at = END
    iv = service.interval_or_error("1m")
    t0 = time.perf_counter()
    for st in picked:
        exchange, _, symbol = st.instruments[0].partition(":")
        async with engine.begin() as conn:
            md = service.reads_on(conn)
            inst = await service.find_instrument(md, symbol, exchange)
            candles = await service.candle_series(
                md, inst, iv, start=None, end=at, limit=history, now=at
            )
            data = {
                name: np.array([getattr(c, name) for c in candles], dtype=np.float64)
                for name in ("open", "high", "low", "close", "volume", "trade_count")
            }
            data["vwap"] = np.array([c.vwap or np.nan for c in candles], dtype=np.float64)
            mark = (
                await conn.execute(
                    select(m.last_alert_close).where(
                        m.strategy_id == st.id, m.exchange == exchange, m.symbol == symbol
                    )
                )
            ).first()
            if mark is None:
                await conn.execute(
                    insert(StrategyMark).values(
                        strategy_id=st.id, exchange=exchange, symbol=symbol,
                        evaluated_through=at - MIN,
                    )
                )  # fmt: skip
            last = None if mark is None else mark[0]
            truth = evaluate(parse(st.condition), data)
            close = candles[-1].start + MIN
            if truth[-1] and (last is None or close - last >= st.cooldown_s * 1_000_000):
                await conn.execute(
                    insert(AlertRow).values(
                        user_id=st.user_id, strategy_id=st.id, strategy_name=st.name,
                        exchange=exchange, symbol=symbol, interval="1m",
                        candle_start=candles[-1].start, candle_close=close,
                        condition=st.condition, values={}, close=candles[-1].close,
                        raised_at=datetime.now(UTC),
                    )
                )  # fmt: skip
                last = close
            await conn.execute(
                update(StrategyMark)
                .where(m.strategy_id == st.id, m.exchange == exchange, m.symbol == symbol)
                .values(evaluated_through=at, last_alert_close=last)
            )
    return (time.perf_counter() - t0) / len(picked), len(picked)


async def run(url: str, label: str, args: argparse.Namespace) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        t0 = time.perf_counter()
        symbols = await load(engine, args.instruments, args.minutes)
        await add_strategies(engine, symbols, args.strategies)
        print(f"{label}: loaded {args.instruments} instruments x {args.minutes} minutes and "
              f"{args.strategies:,} strategies in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        figures = {w: await tickhub_scans(engine, w, args.history) for w in args.workers}
        per_strategy, n = await naive_loop(engine, args.naive_sample, args.history)
        naive = per_strategy * args.strategies
        for workers, f in figures.items():
            where = "in process" if workers == 0 else f"{workers} worker processes"
            print(
                f"{label} tickhub scan ({where}): {f['median']:.3f} s per close "
                f"(scans {', '.join(f'{t:.3f}' for t in f['times'])}; "
                f"{f['decisions']:,.0f} decisions, {f['alerts']:,.0f} alerts a close); "
                f"first scan, creating {f['first_claimed']:,} marks: {f['first']:.3f} s"
            )
        best = min(f["median"] for f in figures.values())
        print(
            f"{label} naive loop: {per_strategy * 1000:.2f} ms per strategy, measured on "
            f"{n} strategies and extrapolated to {args.strategies:,}: {naive:.1f} s per close"
        )
        print(f"{label} ratio (naive / best tickhub): {naive / best:,.0f}x")
    finally:
        await engine.dispose()


async def pg_database(admin_url: str) -> str:
    name = f"tickhub_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(False)


async def drop_pg(admin_url: str, url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    await admin.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strategies", type=int, default=10_000)
    ap.add_argument("--instruments", type=int, default=100)
    ap.add_argument("--minutes", type=int, default=400, help="candles stored per instrument")
    ap.add_argument("--history", type=int, default=300, help="candles loaded per instrument")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--naive-sample", type=int, default=300)
    ap.add_argument("--pg", action="store_true", help="also on PostgreSQL")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args)
    if args.pg:
        admin_url = os.environ.get("TICKHUB_TEST_POSTGRES_URL", PG_DEFAULT)
        url = await pg_database(admin_url)
        try:
            await run(url, "PostgreSQL", args)
        finally:
            await drop_pg(admin_url, url)


if __name__ == "__main__":
    asyncio.run(main())
