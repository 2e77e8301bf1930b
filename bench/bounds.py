"""Every public read bounded, with 10 million trades stored (issue 14).

    .venv/bin/python bench/bounds.py [--trades 10000000] [--data FILE] [--pg URL]
        [--only REGEX] [--max-s 1.0] [--max-mb 50] [--repeat N] [--cpu] [--load-only]

The data: one year (2025) of three binance instruments loaded through the real writer
(so the rollups are the ones tickhub keeps): BTCUSDT 70 % of the trades (with a burst of
a tenth of them in ten minutes on 2025-06-15 from 12:00, ~1,700 trades/s), ETHUSDT 20 %,
BNBBTC 10 %. `--data FILE` keeps the SQLite database between runs (loaded once); `--pg
URL` loads a PostgreSQL database instead (reused when it holds the trades already), then
refreshes the planner's statistics as `tickhub import` does (autovacuum never analyses the
partitioned `trades`; without statistics the planner bitmap-scans all 7,000,000 BTCUSDT
trades for a page of 1,000: 7 s).

Then one `tickhub api` process serves it, and every GET route the app lists in its
OpenAPI schema is asked its worst cases: the widest windows (`start=0`, a year, all
time), the smallest intervals, the biggest limits, every symbol, the seed paths, a
pagination cursor at the end. A route of the schema that has no case here is a failure,
so a new route cannot be forgotten. Routes that need credentials are asked as a user
registered through the API.

Per request: the status, the time to the whole body, the server's CPU seconds (all its
threads, from /proc/<pid>/stat), the server's RSS rise (VmRSS
before, the peak VmHWM during: the peak is reset through /proc/<pid>/clear_refs before
each request) and the bytes. A request over `--max-s` seconds or `--max-mb` MB of RSS
rise, or answered 5xx or not at all, is flagged; the exit status is 1 when any is.
The machine may be shared: the load average is printed beside the figures, `--repeat N`
keeps the worst of N asks, and `--cpu` judges the time by the server's CPU seconds
(what the request costs, not how long it queued behind other processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bounds_cases import CASES, DATASET, DATASET_BODY, FOLLOW
from http_reads import Server, free_port, tickhub_env
from procstat import cpu_seconds
from tickhub.common.time import datetime_to_us
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.planner import refresh_planner_statistics
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade

S = 1_000_000
YEAR_START = datetime_to_us(datetime(2025, 1, 1, tzinfo=UTC))
YEAR_END = datetime_to_us(datetime(2026, 1, 1, tzinfo=UTC))
BURST_START = datetime_to_us(datetime(2025, 6, 15, 12, tzinfo=UTC))
BURST_END = BURST_START + 600 * S
# (symbol, share of the trades, first price)
INSTRUMENTS = (("BTCUSDT", 0.7, 70_000.0), ("ETHUSDT", 0.2, 3_500.0), ("BNBBTC", 0.1, 0.0085))


def _segments(symbol: str, n: int) -> list[tuple[int, int, int]]:
    """(trades, first ts, last ts) of each stretch of an instrument's year."""
    if symbol != "BTCUSDT":
        return [(n, YEAR_START, YEAR_END)]
    burst = n // 7
    rest = n - burst
    return [(rest // 2, YEAR_START, BURST_START), (burst, BURST_START, BURST_END),
            (rest - rest // 2, BURST_END, YEAR_END)]  # fmt: skip


async def load(url: str, total: int) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            have = (await conn.execute(text("SELECT count(*) FROM trades"))).scalar_one()
        if have >= total:
            print(f"reusing {have:,} stored trades")
            await refresh_planner_statistics(engine)  # as `tickhub import` leaves them
            return
        if have:
            raise SystemExit(f"the database holds {have:,} trades, not {total:,}: start afresh")
        writer = Writer(engine)
        t0 = time.perf_counter()
        done = 0
        batch = 50_000
        for symbol, share, price in INSTRUMENTS:
            trade_id = 0
            for n, first, last in _segments(symbol, round(total * share)):
                step = (last - first) / n
                for lo in range(0, n, batch):
                    trades = []
                    for i in range(lo, min(lo + batch, n)):
                        trade_id += 1
                        price *= 1 + ((trade_id * 7919) % 201 - 100) / 1_000_000
                        ts = first + int(i * step)
                        trades.append(Trade(trade_id, ts, round(price, 6), 0.01, i % 2 == 0))
                    await writer.write(TradeBatch("binance", symbol, tuple(trades)))
                    done += len(trades)
                    print(f"\rloading: {done:,} trades", end="", flush=True)
        print(f"\rloaded {done:,} trades in {time.perf_counter() - t0:.0f} s")
        await refresh_planner_statistics(engine)  # as `tickhub import` leaves them
    finally:
        await engine.dispose()


@dataclass
class Result:
    route: str
    path: str
    status: int
    seconds: float
    cpu: float
    rss_mb: float  # the peak during the request over the resident size before it
    size: int
    note: str = ""


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def ask(
    base: str, path: str, pid: int, token: str, timeout: float
) -> tuple[int, float, float, float, int, bytes]:
    """(status, seconds to the whole body, the server's CPU seconds, RSS rise in MB,
    bytes, body) of one request."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) restarts from now
    before = _proc_kb(pid, "VmRSS")
    cpu0 = cpu_seconds(pid)
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            status = int(r.status)
    except urllib.error.HTTPError as exc:
        body = exc.read()
        status = exc.code
    except OSError as exc:
        body, status = str(exc).encode(), 0
    took = time.perf_counter() - t0
    try:
        peak = _proc_kb(pid, "VmHWM")
        cpu = cpu_seconds(pid) - cpu0
    except (OSError, RuntimeError):  # the server died
        peak, cpu = before, float("nan")
    return status, took, cpu, (peak - before) / 1024, len(body), body


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def app_get_routes(base: str) -> set[str]:
    """Every GET route the app answers: its OpenAPI schema, and the public list (which
    also names the routes the schema leaves out: the docs, the dashboard's files)."""
    from tickhub.public import PUBLIC_ROUTES

    with urllib.request.urlopen(base + "/openapi.json", timeout=60) as r:
        schema = json.loads(r.read())
    routes = {p for p, ops in schema["paths"].items() if "get" in ops}
    return routes | {p for method, p in PUBLIC_ROUTES if method == "GET"}


def sign_in(base: str, env: dict[str, str]) -> str:
    """A user made through the CLI (an admin: the one who sees the most), and its token."""
    email, password = "bounds@example.com", "bounds-password-1"
    subprocess.run([sys.executable, "-m", "tickhub", "admin", "create", "--email", email,
                    "--password", password], env=env, check=False, capture_output=True)  # fmt: skip
    req = urllib.request.Request(
        base + "/api/token", data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as r:
        token: str = json.loads(r.read())["access"]
    return token


def make_dataset(base: str, token: str) -> None:
    """The user's largest training data set, for its reads (made once: kept in the data)."""
    req = urllib.request.Request(
        f"{base}/crypto/training_data/{DATASET}", data=json.dumps(DATASET_BODY).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )  # fmt: skip
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            status, said = r.status, ""
    except urllib.error.HTTPError as exc:
        status, said = exc.code, exc.read().decode(errors="replace")[:200]
    print(f"data set {DATASET}: POST {status} in {time.perf_counter() - t0:.1f} s {said}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=10_000_000)
    ap.add_argument("--data", default="data/bench-bounds.db", help="SQLite file, kept")
    ap.add_argument("--pg", default="", help="a PostgreSQL URL instead of SQLite")
    ap.add_argument("--only", default="", help="only the routes matching this regex")
    ap.add_argument("--max-s", type=float, default=1.0)
    ap.add_argument("--max-mb", type=float, default=50.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="ask each request N times: the worst time, CPU and RSS rise",
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="judge the time by the server's CPU "
        "seconds, not the wall clock (a shared, loaded machine)",
    )
    ap.add_argument("--load-only", action="store_true")
    args = ap.parse_args()
    if args.pg:
        url = args.pg
    else:
        Path(args.data).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(args.data).resolve()}"
    asyncio.run(load(url, args.trades))
    if args.load_only:
        return 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = tickhub_env(url, port)
    srv = Server([sys.executable, "-m", "tickhub", "api"], env, base + "/healthz")
    srv.start()
    try:
        assert srv.proc is not None
        token = sign_in(base, env)
        make_dataset(base, token)
        routes = app_get_routes(base)
        missing = sorted(routes - CASES.keys())
        results: list[Result] = []
        only = re.compile(args.only) if args.only else None
        print(f"{args.trades:,} trades over {'PostgreSQL' if args.pg else 'SQLite'}; "
              f"{len(routes)} GET routes; load average {load_average()} "
              f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC); each request asked {args.repeat} "
              f"time(s); flagged over {args.max_s:g} s{' of CPU' if args.cpu else ''} or "
              f"{args.max_mb:g} MB")  # fmt: skip
        print(
            f"{'status':>6} {'time s':>7} {'CPU s':>6} {'RSS MB':>7} {'bytes':>10}  route / request"
        )
        for route, paths in CASES.items():
            if route not in routes or (only and not only.search(route)):
                continue
            for path in paths:
                if not srv.alive():
                    srv.restart()
                ask_path = path
                if FOLLOW in path:  # the page after the first: a cursor near the end
                    first = path.replace(f"&cursor={FOLLOW}", "")
                    *_, body = ask(base, first, srv.proc.pid, token, args.timeout)
                    cursor = json.loads(body).get("next_cursor") or ""
                    ask_path = path.replace(FOLLOW, urllib.parse.quote(cursor))
                runs = [ask(base, ask_path, srv.proc.pid, token, args.timeout)
                        for _ in range(max(1, args.repeat))]  # fmt: skip
                status, size = runs[-1][0], runs[-1][4]
                took = max(r[1] for r in runs)  # the first ask may fill a cache: the worst
                cpu = max(r[2] for r in runs)
                rss = max(r[3] for r in runs)
                flags = []
                if (cpu if args.cpu else took) > args.max_s:
                    flags.append(f"> {args.max_s:g} s{' of CPU' if args.cpu else ''}")
                if rss > args.max_mb:
                    flags.append(f"> {args.max_mb:g} MB")
                if status == 0 or status >= 500:
                    flags.append("no answer" if status == 0 else "5xx")
                r = Result(route, path, status, took, cpu, rss, size, ", ".join(flags))
                results.append(r)
                mark = f"  <-- {r.note}" if r.note else ""
                print(f"{status:>6} {took:>7.3f} {cpu:>6.2f} {rss:>7.1f} {size:>10,}  {path}{mark}",
                      flush=True)  # fmt: skip
        flagged = [r for r in results if r.note]
        worst_t = max(results, key=lambda r: r.seconds)
        worst_m = max(results, key=lambda r: r.rss_mb)
        print(f"\n{len(results)} requests over {len(routes) - len(missing)} routes; "
              f"slowest {worst_t.seconds:.3f} s ({worst_t.path}); "
              f"largest RSS rise {worst_m.rss_mb:.1f} MB ({worst_m.path}); "
              f"load average {load_average()}")  # fmt: skip
        for r in flagged:
            print(f"FLAGGED {r.status} {r.seconds:.3f} s (CPU {r.cpu:.2f} s) "
                  f"{r.rss_mb:.1f} MB {r.path}: {r.note}")  # fmt: skip
        for route in missing:
            print(f"UNMEASURED route {route}: add its worst cases to CASES")
        return 1 if flagged or (missing and not only) else 0
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
