"""Reads over HTTP: tickhub (SQLite, and PostgreSQL with --pg) beside a bare Starlette
app returning a constant JSON, measured in the same run with the same load generator.

    .venv/bin/python bench/http.py [--trades 300000] [--seconds 5] [--runs 3] [--pg URL]

The data: BTCUSDT, ETHUSDT and BNBBTC, one trade per second each from 2024-03-31 (as in
the issue's measurements), loaded through the real writer into a fresh database. Each
server runs in its own process (`tickhub api`, uvicorn, one process); `wrk` (2 threads,
16 connections) loads one route at a time; each figure is the median of `--runs` runs,
and each rps is also given as a ratio to the bare app's.

Seed 004's original (Django + gunicorn + PostgreSQL) is measured when `--peer URL`
names it running, loaded with the same trades (see the README); otherwise it is skipped
with a message. The machine may be shared: the printed figures say when they were taken.
"""

from __future__ import annotations

import sys

# This file's name shadows the standard library's `http` while its folder leads sys.path.
if sys.path and sys.path[0] == __file__.rsplit("/", 1)[0]:
    sys.path.pop(0)

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tickhub.common.time import datetime_to_us
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade

START = datetime_to_us(datetime(2024, 3, 31, tzinfo=UTC))
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBBTC")
BASE_PRICE = {"BTCUSDT": 70_000.0, "ETHUSDT": 3_500.0, "BNBBTC": 0.0085}
S = 1_000_000

ROUTES = [
    ("current price (seed 004)", "/api/current_price/?symbol=BTCUSDT"),
    ("/v1/prices/binance/BTCUSDT", "/v1/prices/binance/BTCUSDT"),
    (
        "crypto_price 1 h, page of 50",
        "/api/crypto_price/?symbol=BTCUSDT&start_datetime=2024-03-31T10:00:00"
        "&end_datetime=2024-03-31T11:00:00",
    ),
    (
        "crypto_price statistics 1 h",
        "/api/crypto_price/statistics/?symbol=BTCUSDT&start_datetime=2024-03-31T10:00:00"
        "&end_datetime=2024-03-31T11:00:00",
    ),
    (
        "crypto_price statistics 1 day",
        "/api/crypto_price/statistics/?symbol=BTCUSDT&start_datetime=2024-03-31T00:00:00"
        "&end_datetime=2024-03-31T23:59:59",
    ),
    (
        "/v1/statistics 1 day",
        "/v1/statistics?symbol=BTCUSDT&start=2024-03-31T00:00:00Z&end=2024-04-01T00:00:00Z",
    ),
    ("/v1/statistics everything", "/v1/statistics?symbol=BTCUSDT&start=0"),
    (
        "/v1/candles 1m over a day",
        "/v1/candles?symbol=BTCUSDT&interval=1m&start=2024-03-31T00:00:00Z"
        "&end=2024-04-01T00:00:00Z&limit=1440",
    ),
    ("/v1/candles 1h over the range", "/v1/candles?symbol=BTCUSDT&interval=1h&start=0&limit=1500"),
]

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
BODY = {"latest_price": 70000.0, "datetime": "2024-03-31T10:00:00"}
async def constant(request):
    return JSONResponse(BODY)
app = Starlette(routes=[Route("/", constant)])
"""


async def load(url: str, trades_per_symbol: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = Writer(engine)
        batch = 5_000
        for symbol in SYMBOLS:
            price = BASE_PRICE[symbol]
            for first in range(0, trades_per_symbol, batch):
                trades = []
                for i in range(first, min(first + batch, trades_per_symbol)):
                    price *= 1 + ((i * 7919) % 201 - 100) / 1_000_000
                    trades.append(Trade(i + 1, START + i * S, round(price, 6), 0.01, i % 2 == 0))
                await writer.write(TradeBatch("binance", symbol, tuple(trades)))
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def server(cmd: list[str], env: dict[str, str], ready: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(ready)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int) -> tuple[float, float, float, int]:
    """(rps, p50 ms, p99 ms, non-2xx count) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(_RPS.search(out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): float(m.group(2)) * _UNIT[m.group(3)] for m in _PCT.finditer(out)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return (
        rps,
        pct.get("50", float("nan")),
        pct.get("99", float("nan")),
        int(bad.group(1)) if bad else 0,
    )


def measure(base: str, path: str, seconds: int, runs: int) -> tuple[float, float, float, int]:
    results = [wrk(base + path, seconds) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        statistics.median(r[2] for r in results),
        sum(r[3] for r in results),
    )


def tickhub_env(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TICKHUB_DATABASE_URL": url,
        "TICKHUB_BUS_URL": "memory://",
        "TICKHUB_SOURCES": "",
        "TICKHUB_HOST": "127.0.0.1",
        "TICKHUB_PORT": str(port),
        "TICKHUB_LOG_LEVEL": "warning",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=300_000, help="trades in all")
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="also measure over this PostgreSQL URL (emptied first)")
    parser.add_argument("--peer", help="base URL of seed 004's original, loaded alike")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, shared machine:")
    print("other work may be running; ratios are to the bare app measured in the same run")

    bare_port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bare.py").write_text(BARE_APP)
        bare_cmd = [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare:app", "--port",
                    str(bare_port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        with server(bare_cmd, dict(os.environ), f"http://127.0.0.1:{bare_port}/"):
            bare = measure(f"http://127.0.0.1:{bare_port}", "/", args.seconds, args.runs)
        print(f"\nbare Starlette, constant JSON: {bare[0]:,.0f} rps, p50 {bare[1]:.2f} ms, "
              f"p99 {bare[2]:.2f} ms")  # fmt: skip

        databases = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if args.pg:
            databases.append(("PostgreSQL", args.pg))
        for name, url in databases:
            t0 = time.perf_counter()
            asyncio.run(load(url, args.trades // len(SYMBOLS)))
            print(f"\ntickhub over {name}, 1 process ({args.trades:,} trades loaded in "
                  f"{time.perf_counter() - t0:.0f} s)")  # fmt: skip
            port = free_port()
            cmd = [sys.executable, "-m", "tickhub", "api"]
            with server(cmd, tickhub_env(url, port), f"http://127.0.0.1:{port}/healthz"):
                base = f"http://127.0.0.1:{port}"
                wait_ready(base + ROUTES[1][1])  # the snapshot cache is warm
                print(f"{'route':34} {'rps':>8} {'p50 ms':>8} {'p99 ms':>8} {'× bare':>7}")
                for label, path in ROUTES:
                    rps, p50, p99, bad = measure(base, path, args.seconds, args.runs)
                    note = f"  ({bad} non-2xx)" if bad else ""
                    print(f"{label:34} {rps:8,.0f} {p50:8.2f} {p99:8.2f} "
                          f"{rps / bare[0]:7.2f}{note}")  # fmt: skip

    if args.peer:
        print(f"\nseed 004 original at {args.peer}")
        for label, path in ROUTES[:5]:
            rps, p50, p99, bad = measure(args.peer, path, args.seconds, args.runs)
            print(f"{label:34} {rps:8,.0f} {p50:8.2f} {p99:8.2f} {rps / bare[0]:7.2f}")
    else:
        print("\nseed 004 original: skipped (no --peer URL; see the README's Benchmarks)")


if __name__ == "__main__":
    main()
