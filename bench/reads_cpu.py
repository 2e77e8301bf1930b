"""The uncached reads (candles, statistics, seed 004 statistics) in one process, with
and without a baseline's code, over the same database: CPU and wall time per request
with 64 requests at once (through the ASGI app and its lifespan, as `tickhub api` runs
it, with the answer cache off; no socket), and seed 004's statistics of a day one at a
time over HTTP (first byte and whole body). The CPU time is what a busy shared machine
distorts least; print the load beside it and compare the two columns.

    .venv/bin/python bench/reads_cpu.py --db sqlite:////tmp/bench.db [--baseline-src DIR]
        [--only REGEX] [--no-seed-day]

The stored rollups kept in memory (`TICKHUB_ROLLUP_CACHE_MB`) are warm after the first
request of each route; run with TICKHUB_ROLLUP_CACHE_MB=0 to read them from the database
every time.

DIR is the `src` of a checkout of the commit before (git worktree add --detach ...); the
database is one `bench/http_reads.py --data FILE` (or `--pg URL`) loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time

import httpx

ROUTES = {
    "/v1/statistics 1 day": "/v1/statistics?symbol=BTCUSDT&start=2024-03-31T00:00:00Z"
    "&end=2024-04-01T00:00:00Z",
    "/v1/candles 1m over a day": "/v1/candles?symbol=BTCUSDT&interval=1m"
    "&start=2024-03-31T00:00:00Z&end=2024-04-01T00:00:00Z&limit=1440",
    "/v1/candles 5m, 1,500": "/v1/candles?symbol=BTCUSDT&interval=5m"
    "&start=2024-03-31T00:00:00Z&limit=1500",
    "/v1/candles 1h, 1,500": "/v1/candles?symbol=BTCUSDT&interval=1h"
    "&start=2024-03-01T00:00:00Z&limit=1500",
    "/v1/statistics 30 days": "/v1/statistics?symbol=BTCUSDT&start=2024-03-15T00:00:00Z"
    "&end=2024-04-14T00:00:00Z",
    "/v1/statistics 1 year": "/v1/statistics?symbol=BTCUSDT&start=2023-06-01T00:00:00Z"
    "&end=2024-06-01T00:00:00Z",
    "crypto_price statistics 1 h": "/api/crypto_price/statistics/?symbol=BTCUSDT"
    "&start_datetime=2024-03-31T10:00:00&end_datetime=2024-03-31T11:00:00",
}
DAY = (
    "/api/crypto_price/statistics/?symbol=BTCUSDT&start_datetime=2024-03-31T00:00:00"
    "&end_datetime=2024-03-31T23:59:59"
)


async def in_process(url: str, only: str) -> None:
    from tickhub.app import create_app
    from tickhub.bus import MemoryBus
    from tickhub.db import create_engine
    from tickhub.runtime import Runtime
    from tickhub.settings import Settings

    engine = create_engine(url)
    settings = Settings(_env_file=None, database_url=url, sources=[], read_cache_mb=0)
    bus = MemoryBus()  # nothing is published: the reads only
    await bus.start()
    app = create_app(runtime=Runtime(settings=settings, engine=engine, bus=bus))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as c,
    ):
        await app.state.snapshot_cache.settled()  # its first build is not a route's work
        for label, path in ROUTES.items():
            if not re.search(only, label):
                continue
            await c.get(path)
            walls, cpus = [], []
            for _ in range(3):  # the median of three rounds of 64
                t0, c0 = time.perf_counter(), time.process_time()
                answers = await asyncio.gather(*(c.get(path) for _ in range(64)))
                assert all(r.status_code == 200 for r in answers), answers[0].text
                walls.append((time.perf_counter() - t0) / 64)
                cpus.append((time.process_time() - c0) / 64)
            wall, cpu = sorted(walls)[1], sorted(cpus)[1]
            print(f"  {label:30} cpu {cpu * 1e3:6.1f} ms/request  wall {wall * 1e3:6.1f} ms  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    await bus.close()
    await engine.dispose()


def seed_day(url: str, python_path: str | None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TICKHUB_DATABASE_URL": url, "TICKHUB_BUS_URL": "memory://",
           "TICKHUB_SOURCES": "", "TICKHUB_PORT": str(port), "TICKHUB_LOG_LEVEL": "warning",
           "TICKHUB_READ_CACHE_MB": "0"}  # fmt: skip
    if python_path:
        env["PYTHONPATH"] = python_path
    server = subprocess.Popen([sys.executable, "-m", "tickhub", "api"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)  # the server is starting
        firsts, wholes, size = [], [], 0
        for i in range(6):
            t0, first, size = time.perf_counter(), 0.0, 0
            with httpx.stream("GET", base + DAY, timeout=60) as r:
                for chunk in r.iter_bytes():
                    first = first or time.perf_counter() - t0
                    size += len(chunk)
            if i:  # the first warms up
                firsts.append(first)
                wholes.append(time.perf_counter() - t0)
        firsts.sort()
        wholes.sort()
        print(f"  seed 004 statistics 1 day: {size:,} bytes, first byte {firsts[2] * 1e3:.0f} ms, "
              f"whole body {wholes[2] * 1e3:.0f} ms (median of 5; {wholes[0] * 1e3:.0f}–"
              f"{wholes[-1] * 1e3:.0f}), load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a loaded database URL")
    parser.add_argument("--baseline-src", help="the baseline's src directory")
    parser.add_argument("--only", default="", help="the routes whose label matches")
    parser.add_argument("--no-seed-day", action="store_true", help="skip seed 004's day")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(in_process(args.db, args.only))
        return
    runs = [("this tree", None)]
    if args.baseline_src:
        runs.append(("baseline", args.baseline_src))
    for name, src in runs:
        print(f"{name}:", flush=True)
        env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
        subprocess.run([sys.executable, __file__, "--db", args.db, "--only", args.only,
                        "--child"], env=env, check=True)  # fmt: skip
        if not args.no_seed_day:
            seed_day(args.db, src)


if __name__ == "__main__":
    main()
