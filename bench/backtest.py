"""Backtest: a year of 1-minute candles for 10 instruments, 100 conditions of the scanner
benchmark's templates, decided by the backtest's core (`scanner.find_alerts` with the
scanner's windows, one shared evaluation per block of candles), beside two naive loops
measured in the same run:

- *per close, in memory*: `find_alerts` once per close, deciding only that candle over its
  window, as replaying the history through the scanner's evaluation would;
- *per close, the live scanner*: `Scanner.scan(T)` once per close over a SQLite database
  holding the candles (loaded through the real writer) and the 100 strategies: what
  replaying the history through the live scanner costs, storage included.

The naive loops run on a slice (`--naive-closes` closes of one instrument) and are
extrapolated to the whole year and the 10 instruments; the output says so.

    .venv/bin/python bench/backtest.py [--days 365] [--instruments 10] [--conditions 100]
                                       [--naive-closes 200] [--history 300]

The candles of the timed backtest are made in memory (a seeded random walk), not read
from a database: the figure is the evaluation's. Reading a year of 1m rollups for one
instrument through `history_between` is timed apart (`read`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from tickhub.accounts.models import User
from tickhub.alerts.models import Strategy
from tickhub.alerts.scanner import GroupRequest, Job, Scanner, find_alerts, window_length
from tickhub.alerts.scanner._engine import parsed
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import ScannerSettings

_BENCH = Path(__file__).resolve().parent
MIN = 60_000_000


def _templates() -> tuple[list[Any], list[int]]:
    """bench/scanner.py's condition templates and cooldowns."""
    spec = importlib.util.spec_from_file_location("bench_scanner", _BENCH / "scanner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.TEMPLATES), list(module.COOLDOWNS)


TEMPLATES, COOLDOWNS = _templates()
START = int(datetime(2025, 11, 24, tzinfo=UTC).timestamp()) * 1_000_000


def series(k: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(100 + k)
    close = 100 * (1 + k) * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    opens = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    volume = rng.uniform(0.5, 20, n)
    starts = START + np.arange(n, dtype=np.int64) * MIN
    return starts, {
        "open": opens,
        "high": np.maximum(opens, close) + spread,
        "low": np.minimum(opens, close) - spread,
        "close": close,
        "volume": volume,
        "vwap": (opens + close) / 2,
        "trade_count": np.full(n, 2.0),
    }


def jobs(conditions: list[str], cooldowns: list[int], history: int, first: int) -> tuple[Job, ...]:
    return tuple(
        Job(c, first, cd * 1_000_000, None, window_length(parsed(c).lookback, history))
        for c, cd in zip(conditions, cooldowns, strict=True)
    )


def backtest(
    n: int, instruments: int, conditions: list[str], cooldowns: list[int], history: int
) -> tuple[float, int]:
    """Seconds to decide every candle of every instrument for every condition; alerts."""
    seconds, alerts = 0.0, 0
    for k in range(instruments):
        starts, data = series(k, n)
        request = GroupRequest(data, starts + MIN, jobs(conditions, cooldowns, history, 0), MIN)
        t0 = time.perf_counter()
        alerts += len(find_alerts(request))
        took = time.perf_counter() - t0
        seconds += took
        print(f"  instrument {k + 1}/{instruments}: {n:,} candles in {took:.1f} s "
              f"({n / took:,.0f} candles/s)", flush=True)  # fmt: skip
    return seconds, alerts


def naive_in_memory(
    closes: int, conditions: list[str], cooldowns: list[int], history: int
) -> float:
    """Seconds per close: `find_alerts` deciding one candle, over its window only."""
    n = 4 * max(history, 1000) + closes
    starts, data = series(0, n)
    ends = starts + MIN
    picked = jobs(conditions, cooldowns, history, 0)
    longest = max(j.window for j in picked)
    t0 = time.perf_counter()
    for row in range(n - closes, n):
        lo = row - 2 * longest  # covers every job's window
        request = GroupRequest(
            {name: v[lo : row + 1] for name, v in data.items()},
            ends[lo : row + 1],
            tuple(Job(j.condition, row - lo, j.cooldown_us, None, j.window) for j in picked),
            MIN,
        )
        find_alerts(request)
    return (time.perf_counter() - t0) / closes


async def naive_scanner(
    closes: int, conditions: list[str], cooldowns: list[int], history: int
) -> float:
    """Seconds per close: the live scanner's `scan(T)` over SQLite, one close at a time."""
    minutes = 2 * history + closes + 5
    starts, data = series(0, minutes)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        try:
            await upgrade(engine)
            writer = Writer(engine)
            trades = tuple(
                Trade(2 * i + j + 1, int(starts[i]) + (1 + 40 * j) * 1_000_000,
                      float(data["open"][i] if j == 0 else data["close"][i]), 1.0)
                for i in range(minutes) for j in (0, 1)
            )  # fmt: skip
            for part in range(0, len(trades), 5000):
                await writer.write(
                    TradeBatch("sim", "C000USDT", trades[part : part + 5000], simulated=True)
                )
            now = datetime.now(UTC)
            user = str(uuid.uuid4())
            async with engine.begin() as conn:
                await conn.execute(
                    insert(User).values(
                        id=user, email=f"{user}@example.com", password_hash="x", first_name="A",
                        last_name="B", is_verified=True, is_admin=False, created_at=now,
                        password_changed_at=now,
                    )
                )  # fmt: skip
                await conn.execute(
                    insert(Strategy),
                    [{"user_id": user, "name": f"s{k}", "instruments": ["sim:C000USDT"],
                      "interval": "1m", "interval_s": 60, "condition": c, "cooldown_s": cd,
                      "channels": [], "active": True, "created_at": now, "updated_at": now}
                     for k, (c, cd) in enumerate(zip(conditions, cooldowns, strict=True))],
                )  # fmt: skip
            scanner = Scanner(engine, ScannerSettings(_env_file=None, history=history))
            first = int(starts[minutes - closes - 1]) + MIN
            await scanner.scan(first)  # creates the marks
            t0 = time.perf_counter()
            for k in range(1, closes + 1):
                result = await scanner.scan(first + k * MIN)
                assert result.failed == 0
            return (time.perf_counter() - t0) / closes
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--instruments", type=int, default=10)
    parser.add_argument("--conditions", type=int, default=100)
    parser.add_argument("--naive-closes", type=int, default=200)
    parser.add_argument("--history", type=int, default=300)
    parser.add_argument(
        "--parts", default="backtest,memory,scanner", help="which of the three to run"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    r = random.Random(3)
    conditions = [r.choice(TEMPLATES)(r) for _ in range(args.conditions)]
    cooldowns = [r.choice(COOLDOWNS) for _ in range(args.conditions)]
    n = args.days * 1440
    total = n * args.instruments
    decisions = total * args.conditions

    print(f"# bench/backtest.py on {os.cpu_count()} cores shared with other work; "
          f"python {sys.version.split()[0]}")  # fmt: skip
    print(f"# {args.days} days of 1m candles x {args.instruments} instruments = {total:,} "
          f"candles; {args.conditions} conditions; history {args.history}")  # fmt: skip
    seconds = 0.0
    if "backtest" in parts:
        seconds, alerts = backtest(n, args.instruments, conditions, cooldowns, args.history)
        print(f"backtest      {seconds:9.1f} s   {total / seconds:12,.0f} candles/s   "
              f"{decisions / seconds:14,.0f} candle-conditions/s   {alerts:,} alerts")  # fmt: skip

    def ratio(naive_s: float) -> str:
        return f"   backtest is {naive_s / seconds:,.0f}x faster" if seconds else ""

    if "memory" in parts:
        per_close = naive_in_memory(args.naive_closes, conditions, cooldowns, args.history)
        print(f"naive/memory  {per_close * total:9.1f} s   {1 / per_close:12,.0f} candles/s   "
              f"(extrapolated from {args.naive_closes} closes of one instrument: "
              f"{per_close * 1000:.2f} ms per close){ratio(per_close * total)}")  # fmt: skip

    if "scanner" in parts:
        per_scan = asyncio.run(
            naive_scanner(args.naive_closes, conditions, cooldowns, args.history)
        )
        print(f"naive/scanner {per_scan * total:9.1f} s   {1 / per_scan:12,.0f} candles/s   "
              f"(extrapolated from {args.naive_closes} scans of one instrument over SQLite: "
              f"{per_scan * 1000:.2f} ms per close){ratio(per_scan * total)}")  # fmt: skip


if __name__ == "__main__":
    main()
