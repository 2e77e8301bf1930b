"""Reads over HTTP: tickhub (SQLite, and PostgreSQL with --pg) beside a bare Starlette
app returning a constant JSON, measured in the same run with the same load generator.

    .venv/bin/python bench/http_reads.py [--trades 300000] [--seconds 5] [--runs 3] [--pg URL]
        [--data FILE] [--only REGEX] [--workers N] [--profile ROUTE-REGEX]
        [--read-cache on|off|both] [--price-cache on|off] [--until-now]
        [--peer-src DIR | --peer URL]

The data: BTCUSDT, ETHUSDT and BNBBTC, one trade per second each from 2024-03-31 (as in
the issue's measurements), loaded through the real writer into a fresh database. Each
server runs in its own process (`tickhub api`, uvicorn, one process); `wrk` (2 threads,
16 connections, a per-request timeout) loads one route at a time after a warm-up; each
figure is the median of `--runs` runs, each rps is also given as a ratio to the bare
app's, and the routes with a latency goal are also measured at one connection (p95).
`cpu ms` is the server's CPU per request (all its threads, from /proc; one process
only), what a shared machine distorts least.
A route that answers an error, times out or stops the server is reported as such and
the run goes on (the server is restarted when it died). `--data FILE` keeps the SQLite
database between runs (loaded once); `--profile REGEX` samples the server with py-spy
while the matching routes are loaded and prints the functions that held the most time.
The read cache (`TICKHUB_READ_CACHE_MB`) is on by default, so a repeated read of a closed
window is answered from memory after the first; `--read-cache off` measures every answer
read from the database, `--read-cache both` each database both ways, one after the other.
Seed 004's statistics are also asked over rolling windows ("…, rolling"): each request
starts at another second (a walk over a day of starts, no start twice per thread), as
many clients asking for "the last hour" or "the last day" would; the read cache cannot
answer those, the prices kept by closed minute (`TICKHUB_PRICE_CACHE_MB`) can, and
`--price-cache off` measures them without it.
`--until-now` loads trades that end at the current second instead and measures windows
that end now (a live chart's reads), which are never answered from the read cache.
Identical reads in flight share one computation (the server's `Coalescer`), so with the
read cache off the 16-connection figures count shared reads; the one-connection p95 and
`cpu ms` are the cost of one read.

Seed 004's original (Django + gunicorn + PostgreSQL) is measured on the seed routes when
`--peer-src DIR` (or TICKHUB_BENCH_PEER004) names its checkout: bench/peer004.py makes its
venv and database, loads the same trades and starts it; then a table gives tickhub's rps
as a ratio to the peer's. `--peer URL` measures one already running and loaded by hand.
Otherwise it is skipped with a message. The machine may be shared: the printed figures
say when they were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import peer004
from procstat import cpu_seconds
from tickhub.common.time import datetime_to_us
from tickhub.db import create_engine
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade

START = datetime_to_us(datetime(2024, 3, 31, tzinfo=UTC))
SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBBTC")
BASE_PRICE = {"BTCUSDT": 70_000.0, "ETHUSDT": 3_500.0, "BNBBTC": 0.0085}
S = 1_000_000

DAY_1H = "start_datetime=2024-03-31T10:00:00&end_datetime=2024-03-31T11:00:00"
DAY_24H = "start_datetime=2024-03-31T00:00:00&end_datetime=2024-03-31T23:59:59"
V1_DAY = "start=2024-03-31T00:00:00Z&end=2024-04-01T00:00:00Z"


@dataclass(frozen=True)
class Route:
    label: str
    path: str
    seed: bool = False  # also measured on seed 004's original
    single: bool = False  # also measured at one connection (the p95 goals)
    roll: int = 0  # > 0: each request a window of this many seconds, each at another start


ROLL_STARTS = 86_400
"""A rolling window starts at one of this many seconds from START, each once (per thread)
before any repeats: what many clients asking for "the last day" at different times ask."""
ROLL_SCRIPT = """
local base, span, starts, step = %d, %d, %d, 7919
local first = 0
setup = function(thread)
  thread:set("k", first)  -- the threads walk the starts from different places
  first = first + math.floor(starts / 2)
end
local function at(t) return os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", t) end
request = function()
  k = (k + step) %% starts
  local s = base + k
  return wrk.format(nil, "%s&start_datetime=" .. at(s) .. "&end_datetime=" .. at(s + span - 1))
end
"""


ROUTES = [
    Route("current price (seed 004)", "/api/current_price/?symbol=BTCUSDT", seed=True),
    Route("crypto_price 1 h, page of 50", f"/api/crypto_price/?symbol=BTCUSDT&{DAY_1H}", seed=True),
    Route("crypto_price statistics 1 h", f"/api/crypto_price/statistics/?symbol=BTCUSDT&{DAY_1H}",
          seed=True, single=True),
    Route("crypto_price statistics 1 day",
          f"/api/crypto_price/statistics/?symbol=BTCUSDT&{DAY_24H}", seed=True, single=True),
    Route("crypto_price statistics 1 h, rolling",
          f"/api/crypto_price/statistics/?symbol=BTCUSDT&{DAY_1H}", seed=True, single=True,
          roll=3_600),
    Route("crypto_price statistics 1 day, rolling",
          f"/api/crypto_price/statistics/?symbol=BTCUSDT&{DAY_24H}", seed=True, single=True,
          roll=86_400),
    Route("/v1/prices/binance/BTCUSDT", "/v1/prices/binance/BTCUSDT"),
    Route("/v1/statistics 1 day", f"/v1/statistics?symbol=BTCUSDT&{V1_DAY}", single=True),
    Route("/v1/statistics 30 days",
          "/v1/statistics?symbol=BTCUSDT&start=2024-03-15T00:00:00Z&end=2024-04-14T00:00:00Z",
          single=True),
    Route("/v1/statistics 1 year",
          "/v1/statistics?symbol=BTCUSDT&start=2023-06-01T00:00:00Z&end=2024-06-01T00:00:00Z",
          single=True),
    Route("/v1/candles 1m over a day",
          f"/v1/candles?symbol=BTCUSDT&interval=1m&{V1_DAY}&limit=1440", single=True),
    Route("/v1/candles 5m, 1,500",
          "/v1/candles?symbol=BTCUSDT&interval=5m&start=2024-03-31T00:00:00Z&limit=1500",
          single=True),
    Route("/v1/candles 1h over the range",
          "/v1/candles?symbol=BTCUSDT&interval=1h&start=2024-03-01T00:00:00Z&limit=1500",
          single=True),
]  # fmt: skip

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
BODY = {"latest_price": 70000.0, "datetime": "2024-03-31T10:00:00"}
async def constant(request):
    return JSONResponse(BODY)
app = Starlette(routes=[Route("/", constant)])
"""


NOW_ROUTES = [
    Route("/v1/candles 1m, 1,440 up to now", "/v1/candles?symbol=BTCUSDT&interval=1m&limit=1440",
          single=True),
    Route("/v1/statistics 1 day up to now", "/v1/statistics?symbol=BTCUSDT", single=True),
]  # fmt: skip
"""With `--until-now`: windows that end now (a live chart), never answered from the
read cache; the rollups of their open minute block are read each time."""


def generate(symbol: str, trades_per_symbol: int, start: int = START) -> Iterator[Trade]:
    """The trades of one symbol, one a second from `start`: what every server is loaded
    with."""
    price = BASE_PRICE[symbol]
    for i in range(trades_per_symbol):
        price *= 1 + ((i * 7919) % 201 - 100) / 1_000_000
        yield Trade(i + 1, start + i * S, round(price, 6), 0.01, i % 2 == 0)


def recent_start(trades_per_symbol: int) -> int:
    """The start of trades one a second that end at the current second."""
    now = datetime_to_us(datetime.now(UTC))
    return now - now % S - (trades_per_symbol - 1) * S


async def load(url: str, trades_per_symbol: int, start: int = START) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        writer = Writer(engine)
        for symbol in SYMBOLS:
            trades = generate(symbol, trades_per_symbol, start)
            while batch := tuple(islice(trades, 5_000)):
                await writer.write(TradeBatch("binance", symbol, batch))
    finally:
        await engine.dispose()


WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def probe(url: str, timeout: float = 30.0) -> tuple[int, float]:
    """(status, seconds) of one request; status 0 when it did not answer."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            status = int(r.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - t0


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _ = probe(url, timeout=2)
        if 0 < status < 500:
            return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


class Server:
    """A server process, restarted when a route killed it."""

    def __init__(self, cmd: list[str], env: dict[str, str], ready: str) -> None:
        self.cmd, self.env, self.ready = cmd, env, ready
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # a file, not a pipe: a server that logs more than a pipe holds would block on it
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=self.log)  # fmt: skip
        wait_ready(self.ready)

    def alive(self) -> bool:
        if not self.cmd:  # not ours (the peer): assumed up
            return True
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> str:
        """Restarts a dead server; returns the last line of what it wrote."""
        last = ""
        if self.proc is not None:
            self.log.seek(0)
            lines = self.log.read().decode(errors="replace").strip().splitlines()
            code = self.proc.poll()
            # a negative code is the signal that ended it (faulthandler, on in the env,
            # writes a crash's Python stack to the log)
            last = f"exit {code}: " + (lines[-1] if lines else "no message")
            self.log.close()
        self.start()
        return last

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()

    def drain(self, timeout: float = 180.0) -> None:
        """Wait until the requests a run left queued are answered (the server answers its
        health check within a second again), so they do not load the next route."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            status, took = probe(self.ready, timeout=timeout)
            if 0 < status < 500 and took < 1.0:
                return


@contextmanager
def server(cmd: list[str], env: dict[str, str], ready: str) -> Iterator[Server]:
    s = Server(cmd, env, ready)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@dataclass(frozen=True)
class Run:
    rps: float
    p50: float  # ms
    p95: float
    p99: float
    errors: int  # socket errors and timeouts
    non2xx: int
    requests: int = 0
    cpu_ms: float = float("nan")  # the server's CPU per request (every thread), when known


def wrk(url: str, seconds: float, connections: int, script: str) -> Run:
    """One wrk run (2 threads, or 1 at one connection) with a per-request timeout."""
    threads = min(2, connections)
    length, timeout = max(1, round(seconds)), max(5, round(seconds * 2))
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{length}s", f"--timeout={timeout}s",
         "-s", script, url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    out = done.stdout + done.stderr
    m = re.search(r"^RESULT ((?:\d+ ?){10})$", out, re.MULTILINE)
    if m is None:
        print(f"  (wrk gave no result: {out.strip()[-200:]!r})")
        return Run(0.0, float("nan"), float("nan"), float("nan"), 1, 0)
    req, dur, p50, p95, p99, conn, read, write, status, tout = map(int, m.group(1).split())
    return Run(req / dur * 1e6 if dur else 0.0, p50 / 1000, p95 / 1000, p99 / 1000,
               conn + read + write + tout, status, req)  # fmt: skip


def measure(
    url: str,
    seconds: float,
    runs: int,
    connections: int,
    script: str,
    between: Callable[[], None] = lambda: None,
    pid: int | None = None,
) -> Run:
    wrk(url, 1, connections, script)  # warm-up: connections, caches, the JIT of SQLite plans
    results, cpus = [], []
    for _ in range(runs):
        between()  # what a run left queued on the server must not load the next one
        c0 = _cpu(pid)
        results.append(r := wrk(url, seconds, connections, script))
        if r.requests:
            cpus.append((_cpu(pid) - c0) / r.requests * 1e3)
    return Run(
        statistics.median(r.rps for r in results),
        statistics.median(r.p50 for r in results),
        statistics.median(r.p95 for r in results),
        statistics.median(r.p99 for r in results),
        sum(r.errors for r in results),
        sum(r.non2xx for r in results),
        sum(r.requests for r in results),
        statistics.median(cpus) if cpus else float("nan"),
    )


def _cpu(pid: int | None) -> float:
    """The server's CPU seconds; NaN when unknown (several workers, or it stopped)."""
    try:
        return cpu_seconds(pid) if pid else float("nan")
    except OSError:
        return float("nan")


class Profiler:
    """py-spy sampling one process while a route is loaded; the leaf functions that
    held the most samples, summed over every route profiled."""

    def __init__(self) -> None:
        self.leaves: Counter[str] = Counter()
        self.inclusive: Counter[str] = Counter()
        self.total = 0

    def record(self, pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            print("  (py-spy not installed: pip install -e '.[dev]')")
            return None
        with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
            self._out = f.name
        return subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--duration", str(int(seconds) + 1),
             "--rate", "200", "--format", "raw", "--output", self._out, "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def collect(self, spy: subprocess.Popen[bytes]) -> None:
        spy.wait(timeout=120)
        path = Path(self._out)
        if not path.exists():
            return
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            n = int(count)
            self.total += n
            self.leaves[_frame(frames[-1])] += n
            for f in {_frame(f) for f in frames}:
                self.inclusive[f] += n
        path.unlink()

    def report(self, top: int = 15) -> None:
        if not self.total:
            return
        print(f"\nprofile (py-spy, {self.total:,} samples): self time")
        for name, n in self.leaves.most_common(top):
            print(f"  {n / self.total:6.1%}  {name}")
        print("inclusive (a frame anywhere on the stack)")
        for name, n in self.inclusive.most_common(top + 10)[10:]:
            print(f"  {n / self.total:6.1%}  {name}")


def _frame(text: str) -> str:
    """`fn (path/to/module.py:12)` as `fn (module.py)`."""
    name, _, where = text.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})" if where else name


def tickhub_env(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TICKHUB_DATABASE_URL": url,
        "TICKHUB_BUS_URL": "memory://",
        "TICKHUB_SOURCES": "",
        "TICKHUB_HOST": "127.0.0.1",
        "TICKHUB_PORT": str(port),
        "TICKHUB_LOG_LEVEL": "warning",
        "PYTHONFAULTHANDLER": "1",
    }


def route_script(route: Route, report: str) -> str:
    """The wrk script of `route`: `report` itself, or beside it, one that also rolls the
    route's window (`ROLL_SCRIPT`)."""
    if not route.roll:
        return report
    path = Path(report).with_name(f"roll-{route.roll}.lua")
    base_path = route.path.split("&start_datetime=")[0]
    roll = ROLL_SCRIPT % (START // S, route.roll, ROLL_STARTS, base_path)
    path.write_text(Path(report).read_text() + roll)
    return str(path)


def measure_routes(
    srv: Server, base: str, routes: list[Route], args: argparse.Namespace, bare: float,
    report: str, profiler: Profiler | None,
) -> dict[str, Run]:  # fmt: skip
    print(f"{'route':32} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'× bare':>6} {'cpu ms':>6} "
          f"{'1 conn: p95 ms':>14} {'rps':>6} {'cpu ms':>6}  errors")  # fmt: skip
    found: dict[str, Run] = {}
    for route in routes:
        if not srv.alive():
            print(f"  (the server had stopped: {srv.restart() or 'no message'}; restarted)")
        status, took = probe(base + route.path)
        if not 200 <= status < 300:
            print(f"{route.label:32} answered {status or 'nothing'} in {took:.1f} s: skipped")
            srv.drain()
            continue
        script = route_script(route, report)
        spy = None
        if profiler is not None and re.search(args.profile, route.label):
            assert srv.proc is not None
            spy = profiler.record(srv.proc.pid, args.seconds)
        pid = srv.proc.pid if srv.proc is not None and args.workers == 1 else None
        r = measure(base + route.path, args.seconds, args.runs, 16, script, srv.drain, pid)
        if spy is not None:
            profiler.collect(spy)  # type: ignore[union-attr]
        found[route.label] = r
        srv.drain()
        one = (
            measure(base + route.path, args.seconds, args.runs, 1, script, srv.drain, pid)
            if route.single
            else None
        )
        single = (
            f"{one.p95:14.2f} {one.rps:6,.0f} {one.cpu_ms:6.2f}"
            if one
            else f"{'':14} {'':6} {'':6}"
        )
        bad = r.errors + r.non2xx + (one.errors + one.non2xx if one else 0)
        note = f"{r.non2xx} non-2xx, {r.errors} socket errors/timeouts" if bad else "0"
        if one and (one.errors or one.non2xx):
            note += f" (+{one.non2xx + one.errors} at 1 conn)"
        if not r.rps:
            note += "; no answer completed within a run"
        print(f"{route.label:32} {r.rps:7,.0f} {r.p50:7.2f} {r.p99:7.2f} {r.rps / bare:6.2f} "
              f"{r.cpu_ms:6.2f} {single}  {note}", flush=True)  # fmt: skip
        srv.drain()
        if not srv.alive():
            print(f"  (the server stopped under {route.label}: {srv.restart() or 'no message'})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=300_000, help="trades in all")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", help="SQLite file kept between runs (loaded when absent)")
    parser.add_argument("--only", default="", help="measure the routes whose label matches")
    parser.add_argument("--workers", type=int, default=1, help="tickhub api --workers N")
    parser.add_argument(
        "--read-cache",
        choices=("on", "off", "both"),
        default="on",
        help="off: TICKHUB_READ_CACHE_MB=0, every answer read from the database; both: each "
        "database measured with the cache on, then off (the peer table shows both)",
    )
    parser.add_argument("--no-read-cache", action="store_true", help="--read-cache off")
    parser.add_argument(
        "--price-cache",
        choices=("on", "off"),
        default="on",
        help="off: TICKHUB_PRICE_CACHE_MB=0, seed 004's prices never kept by closed minute",
    )
    parser.add_argument("--profile", help="py-spy over the routes whose label matches")
    parser.add_argument(
        "--until-now",
        action="store_true",
        help="load trades that end now (into a fresh database) and measure windows ending "
        "now instead of the fixed ones",
    )
    parser.add_argument("--pg", help="also measure over this PostgreSQL URL (an empty database)")
    parser.add_argument("--peer", help="base URL of seed 004's original, loaded alike")
    parser.add_argument("--peer-src", help=f"seed 004's checkout, started here ({peer004.ENV_VAR})")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    routes = [
        r for r in (NOW_ROUTES if args.until_now else ROUTES) if re.search(args.only, r.label)
    ]
    if args.until_now and args.data and Path(args.data).exists():
        raise SystemExit("--until-now loads its own trades: give --data a new file")
    mode = "off" if args.no_read_cache else args.read_cache
    caches = {"on": [True], "off": [False], "both": [True, False]}[mode]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}: the machine may be shared, so ratios are to the bare "
          "app measured in the same run")  # fmt: skip
    print(f"wrk: 2 threads x 16 connections (and 1 x 1 where marked), {args.seconds:g} s runs "
          f"after a 1 s warm-up, median of {args.runs}")  # fmt: skip

    bare_port = free_port()
    profiler = Profiler() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        script = str(Path(tmp) / "report.lua")
        Path(script).write_text(WRK_REPORT)
        (Path(tmp) / "bare.py").write_text(BARE_APP)
        bare_cmd = [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare:app", "--port",
                    str(bare_port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        with server(bare_cmd, dict(os.environ), f"http://127.0.0.1:{bare_port}/"):
            bare = measure(f"http://127.0.0.1:{bare_port}/", args.seconds, args.runs, 16, script)
        if not bare.rps:
            raise SystemExit("the bare app answered nothing: is the machine overloaded?")
        print(f"\nbare Starlette, constant JSON: {bare.rps:,.0f} rps, p50 {bare.p50:.2f} ms, "
              f"p99 {bare.p99:.2f} ms")  # fmt: skip

        sqlite = Path(args.data).resolve() if args.data else Path(tmp) / "bench.db"
        databases = [("SQLite", f"sqlite:///{sqlite}", not sqlite.exists())]
        if args.pg:
            databases.append(("PostgreSQL", args.pg, True))
        results: dict[str, dict[str, Run]] = {}
        for name, url, fill in databases:
            t0 = time.perf_counter()
            if fill:
                n = args.trades // len(SYMBOLS)
                asyncio.run(load(url, n, recent_start(n) if args.until_now else START))
            loaded = f"loaded in {time.perf_counter() - t0:.0f} s" if fill else f"from {sqlite}"
            for on in caches:
                cached = ("read cache on" if on else "no read cache") + (
                    ", no price cache" if args.price_cache == "off" else ""
                )
                print(f"\ntickhub over {name}, {args.workers} process(es), {cached} ({loaded})")
                port = free_port()
                cmd = [sys.executable, "-m", "tickhub", "api"]
                if args.workers > 1:
                    cmd += ["--workers", str(args.workers)]
                env = tickhub_env(url, port)
                if not on:
                    env["TICKHUB_READ_CACHE_MB"] = "0"
                if args.price_cache == "off":
                    env["TICKHUB_PRICE_CACHE_MB"] = "0"
                with server(cmd, env, f"http://127.0.0.1:{port}/healthz") as srv:
                    base = f"http://127.0.0.1:{port}"
                    wait_ready(base + "/v1/prices/binance/BTCUSDT")  # the snapshot cache is warm
                    found = measure_routes(srv, base, routes, args, bare.rps, script, profiler)
                results[name if len(caches) == 1 else f"{name} {'' if on else 'un'}cached"] = found

        seed = [r for r in routes if r.seed]
        peer_src, why = peer004.locate(args.peer_src)
        if args.peer:
            print(f"\nseed 004 original at {args.peer}")
            peer = Server([], {}, args.peer)
            found = measure_routes(peer, args.peer, seed, args, bare.rps, script, None)
            peer004.print_ratios(found, results)
        elif peer_src is not None and seed:
            print(f"\nseed 004 original from {peer_src}: gunicorn, {peer004.WORKERS} sync workers, "
                  "PostgreSQL")  # fmt: skip
            port = free_port()
            n = args.trades // len(SYMBOLS)
            with (
                peer004.prepared(peer_src, port, generate, SYMBOLS, n) as (cmd, env),
                server(cmd, env, f"http://127.0.0.1:{port}{peer004.READY}") as srv,
            ):
                found = measure_routes(srv, f"http://127.0.0.1:{port}", seed, args, bare.rps,
                                       script, None)  # fmt: skip
            peer004.print_ratios(found, results)
        else:
            print(f"\nseed 004 original: skipped ({why or 'no seed route selected'})")
    if profiler is not None:
        profiler.report()


if __name__ == "__main__":
    main()
