"""The live path under load: `tickhub up` with 100 simulated instruments at 1,000 trades/s
in all, then WebSocket clients on `/v1/stream?instruments=sim:*&channels=trades`, beside
the same run against a baseline (the code before the change) measured on this machine in
the same run.

    git worktree add /tmp/fanout-base main          # the code before the change
    .venv/bin/python bench/fanout.py --baseline-src /tmp/fanout-base/src \\
        [--clients 100,1000,5000] [--modes both] [--window 20] [--warmup 20] [--profile DIR]
    git worktree remove /tmp/fanout-base

Each server runs as a subprocess (`tickhub up`, SQLite in a temporary data directory,
`TICKHUB_SOURCES=sim`, `TICKHUB_SIM_RATE=10`, symbols `S000USDT`…`S099USDT`). With no
client it measures, over the window:

- stored lag: the newest trade time the tracker has received (`last_trade_time` of the
  source in `/v1/sources`) minus that of the newest stored trade
  (`tickhub_writer_last_trade_timestamp_seconds` in `/metrics`), both scraped every
  second; and wall clock minus the newest stored trade time (which adds the simulated
  source's own batching, up to `TICKHUB_SIM_BATCH_INTERVAL_S`);
- backlog: trades published by the tracker but not yet stored;
- process CPU (% of one core, from /proc) and RSS.

Then, for each client count, client processes (`--processes`, 2 by default, one up to 100
clients) connect; once the server counts them all (`tickhub_ws_clients`) and `--warmup`
more seconds have passed, they count over the window: delay from the
newest trade's time to its receipt (p50/p99), trades received per second per client,
disconnects; beside the server's RSS and CPU, and, when the server counts them
(`tickhub_ws_flush*_total`), the live hub's flushes per second, the CPU time of each and
per client write. A thousand clients at a thousand trades a
second is a million trades a second to receive on the same 2 cores as the server, so the
clients cost as little as possible, or the benchmark measures them: each is an asyncio
`Protocol` on a raw socket that does the WebSocket upgrade by hand and never parses a
frame. Every received chunk is counted with C-speed byte operations: trades by
`chunk.count(b'"trade_id"')`, and, for about 100 clients (one in n/100), the delay from
the last trade time in the chunk (`rfind(b'"time":"')`, the newest trade of the newest
message) to the chunk's arrival. A few bytes of each chunk are kept with the next, so a
marker split between two chunks is counted once; the server's keepalive pings
(`\x89\x04` + 4 bytes) are answered with pongs. A client whose connection ends before the
window does counts as a disconnect.
The branch's server is measured with clients that ask for bundled frames (`bundle=true`,
see the stream protocol) and with plain ones (`--modes`); the baseline has no bundles,
so its plain figures are the reference for both.

The machine has 2 cores and the client processes run on it too: compare the ratios
measured side by side, and read the load average printed with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SYMBOLS = ",".join(f"S{i:03d}USDT" for i in range(100))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


_METRIC = re.compile(r"^(tickhub_[a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.MULTILINE)


def scrape(port: int) -> dict[str, float]:
    """The server's tickhub metrics, and `newest_received`: the newest trade time the
    tracker has received from the simulated source (`/v1/sources`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {m[1]: float(m[2]) for m in _METRIC.finditer(text)}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/sources", timeout=10) as r:
        times = [s["last_trade_time"] for s in json.loads(r.read()) if s.get("last_trade_time")]
    if times:
        out["newest_received"] = max(datetime.fromisoformat(t).timestamp() for t in times)
    return out


@dataclass
class Server:
    label: str
    src: Path | None  # None: the installed (new) code
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    data: Path | None = None
    log: Path | None = None

    def start(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix=f"fanout-{self.label}-"))
        self.log = self.data / "server.log"
        env = {
            **os.environ,
            "TICKHUB_DATA_DIR": str(self.data),
            "TICKHUB_DATABASE_URL": f"sqlite:///{self.data}/tickhub.db",
            "TICKHUB_SOURCES": "sim",
            "TICKHUB_SYMBOLS": SYMBOLS,
            "TICKHUB_SIM_RATE": "10",
            "TICKHUB_SIM_FALLBACK": "false",
            "TICKHUB_HOST": "127.0.0.1",
            "TICKHUB_PORT": str(self.port),
            "TICKHUB_LOG_LEVEL": "WARNING",
            "TICKHUB_GATEWAY_STREAM_MAX_PER_ADDRESS": "100000",
        }
        if self.src is not None:
            env["PYTHONPATH"] = str(self.src)
        code = "import sys; from tickhub.cli import main; sys.argv[0] = 'tickhub'; main()"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, "up"],
                env=env,
                cwd=self.data,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.label}: server exited; see {self.log}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).read()
                return
            time.sleep(0.5)
        raise SystemExit(f"{self.label}: server did not answer; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)


@dataclass
class Sampled:
    """What the server did over a window."""

    lag_s: list[float] = field(default_factory=list)  # now - newest stored
    pub_lag_s: list[float] = field(default_factory=list)  # newest received - newest stored
    backlog: list[float] = field(default_factory=list)
    cpu_pct: float = 0.0
    rss_mib: float = 0.0
    stored_rate: float = 0.0
    load: str = ""
    missed: int = 0  # scrapes the server did not answer in time
    # the live hub's flushes over the window (servers that count them): per second, CPU
    # ms each, CPU µs per socket write
    flushes_per_s: float | None = None
    flush_ms: float | None = None
    write_us: float | None = None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


async def sample_server(server: Server, seconds: float) -> Sampled:
    out = Sampled()
    cpu0, t0 = proc_cpu_s(server.pid), time.monotonic()
    first = last = None
    hub: list[tuple[float, float, float, float]] = []  # (time, flushes, cpu s, writes)
    while time.monotonic() - t0 < seconds:
        out.rss_mib = max(out.rss_mib, proc_rss_mib(server.pid))
        try:
            m = await asyncio.to_thread(scrape, server.port)
        except OSError:  # the server did not answer within the timeout: a missed sample
            out.missed += 1
            continue
        now = time.time()
        stored_ts = m.get("tickhub_writer_last_trade_timestamp_seconds")
        if stored_ts is not None:
            out.lag_s.append(now - stored_ts)
            published_ts = m.get("newest_received")
            if published_ts is not None:
                out.pub_lag_s.append(max(0.0, published_ts - stored_ts))
        if "tickhub_ws_flushes_total" in m:
            hub.append(
                (
                    time.monotonic(),
                    m["tickhub_ws_flushes_total"],
                    m.get("tickhub_ws_flush_cpu_seconds_total", 0.0),
                    m.get("tickhub_ws_flush_writes_total", 0.0),
                )
            )
        published = m.get("tickhub_tracker_trades_published_total", 0.0)
        stored = m.get("tickhub_writer_trades_new_total", 0.0)
        out.backlog.append(published - stored)
        if first is None:
            first = (time.monotonic(), stored)
        last = (time.monotonic(), stored)
        await asyncio.sleep(1.0)
    out.cpu_pct = 100 * (proc_cpu_s(server.pid) - cpu0) / (time.monotonic() - t0)
    if first is not None and last is not None and last[0] > first[0]:
        out.stored_rate = (last[1] - first[1]) / (last[0] - first[0])
    out.load = load_average()
    if len(hub) >= 2 and hub[-1][1] > hub[0][1]:
        dt, flushes, cpu, writes = (b - a for a, b in zip(hub[0], hub[-1], strict=True))
        out.flushes_per_s = flushes / dt
        out.flush_ms = 1000 * cpu / flushes
        out.write_us = 1e6 * cpu / writes if writes else None
    return out


# ---------------------------------------------------------------- the clients


_TRADE_ID = b'"trade_id"'
_TIME = b'"time":"'
_PING = b"\x89\x04"  # an unmasked ping with uvicorn's 4-byte payload
_TAIL = 9  # bytes kept from the last chunk: a marker or a ping split between chunks


class StreamClient(asyncio.Protocol):
    """One raw WebSocket client: the HTTP upgrade by hand, then the bytes as they come.
    Trades are counted with `bytes.count` over each chunk (never a Python loop per frame),
    the delay taken from the last trade time in the chunk (`rfind`) when `timed`; pings
    are answered (uvicorn closes a client that does not answer its keepalive)."""

    def __init__(self, run: ClientRun, i: int, timed: bool) -> None:
        self.run, self.i, self.timed = run, i, timed
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.upgraded = False
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.run.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.run.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 101"):
                self.run.errors["refused"] = self.run.errors.get("refused", 0) + 1
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.run.connected[self.i] = True
            data, self.head = self.head[end + 4 :], b""
        now = time.time()
        tail = self.tail
        chunk = tail + data
        self.tail = chunk[-_TAIL:]
        at = chunk.find(_PING)
        while at >= 0 and at + 6 <= len(chunk):
            if at + 6 > len(tail):  # not answered with the last chunk
                assert self.transport is not None
                # a pong, masked with a zero key: the payload goes as it came
                self.transport.write(b"\x8a\x84\x00\x00\x00\x00" + chunk[at + 2 : at + 6])
            at = chunk.find(_PING, at + 2)
        if not self.run.counting:
            return
        self.run.received[self.i] += chunk.count(_TRADE_ID)
        if self.timed:
            at = chunk.rfind(_TIME)
            if at >= 0 and at + 8 + 27 <= len(chunk):
                stamp = chunk[at + 8 : at + 8 + 27].decode()
                self.run.delays.append(now - datetime.fromisoformat(stamp).timestamp())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.run.connected[self.i] and not self.run.ended:
            self.run.disconnects += 1
            kind = type(exc).__name__ if exc else "closed by the server"
            self.run.errors[kind] = self.run.errors.get(kind, 0) + 1


@dataclass
class ClientRun:
    port: int
    path: str
    n: int
    counting: bool = False
    ended: bool = False
    received: list[int] = field(default_factory=list)
    connected: list[bool] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    disconnects: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def run_clients(
    port: int,
    n: int,
    window: float,
    bundle: bool,
    connect_rate: float,
    sample_every: int,
) -> dict[str, Any]:
    """`n` raw clients; once told to (a line on stdin: every client of every process is
    connected by then, and warm), count for `window` s. Every client counts its trades;
    one in `sample_every` also takes the delay of the newest trade of each chunk."""
    path = "/v1/stream?instruments=sim:*&channels=trades" + ("&bundle=true" if bundle else "")
    run = ClientRun(port, path, n, received=[0] * n, connected=[False] * n)
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    async def open_one(i: int) -> None:
        try:
            transport, _ = await loop.create_connection(
                lambda: StreamClient(run, i, i % sample_every == 0), "127.0.0.1", port
            )
            transports.append(transport)
        except OSError as exc:
            kind = type(exc).__name__
            run.errors[kind] = run.errors.get(kind, 0) + 1

    opening = []
    for i in range(n):
        opening.append(asyncio.create_task(open_one(i)))
        await asyncio.sleep(1 / connect_rate)
    await asyncio.gather(*opening)
    await loop.run_in_executor(None, sys.stdin.readline)
    run.counting = True
    cpu0 = time.process_time()
    await asyncio.sleep(window)
    cpu_pct = 100 * (time.process_time() - cpu0) / window
    run.counting = False
    run.ended = True
    for transport in transports:
        transport.close()
    return {
        "n": n,
        "connected": sum(run.connected),
        "received": run.received,
        "delays": run.delays,
        "disconnects": run.disconnects,
        "errors": run.errors,
        "window": window,
        "cpu_pct": cpu_pct,
    }


def client_worker(args: argparse.Namespace) -> None:
    result = asyncio.run(
        run_clients(
            args.port,
            args.n,
            args.window,
            args.bundle,
            args.connect_rate,
            args.sample_every,
        )
    )
    print(json.dumps(result))


@dataclass
class ClientFigures:
    bundle: bool
    clients: int
    connected: int
    p50_ms: float
    p99_ms: float
    rate_min: float
    rate_median: float
    disconnects: int
    errors: dict[str, int]
    server: Sampled
    clients_cpu_pct: float = 0.0
    connect_s: float = 0.0


async def measure_clients(
    server: Server, n: int, args: argparse.Namespace, bundle: bool
) -> ClientFigures:
    processes = 1 if n <= 100 else args.processes
    groups = [n // processes + (1 if k < n % processes else 0) for k in range(processes)]
    procs = []
    for size in groups:
        cmd = [
            sys.executable, __file__, "--client-worker", "--port", str(server.port),
            "--n", str(size), "--window", str(args.window),
            "--connect-rate", str(args.connect_rate / len(groups)),
            "--sample-every", str(max(1, n // 100)),
        ]  # fmt: skip
        if bundle:
            cmd.append("--bundle")
        procs.append(
            await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        )
    # every client connected (as the server counts them), then the warm-up, then the window
    began = time.monotonic()
    while time.monotonic() - began < args.connect_timeout:
        with contextlib.suppress(OSError):
            if (await asyncio.to_thread(scrape, server.port)).get("tickhub_ws_clients", 0) >= n:
                break
        await asyncio.sleep(1.0)
    connect_s = time.monotonic() - began
    await asyncio.sleep(args.warmup)
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    profiler = profile(server, args, f"{n}-clients")
    sampled = await sample_server(server, args.window)
    if profiler is not None:
        profiler.wait()
    outputs = [json.loads((await p.communicate())[0]) for p in procs]
    received = [r / args.window for o in outputs for r in o["received"]]
    delays = [d for o in outputs for d in o["delays"]]
    errors: dict[str, int] = {}
    for o in outputs:
        for k, v in o["errors"].items():
            errors[k] = errors.get(k, 0) + v
    return ClientFigures(
        bundle=bundle,
        clients=n,
        connected=sum(o["connected"] for o in outputs),
        p50_ms=1000 * pct(delays, 50),
        p99_ms=1000 * pct(delays, 99),
        rate_min=min(received) if received else 0.0,
        rate_median=statistics.median(received) if received else 0.0,
        disconnects=sum(o["disconnects"] for o in outputs),
        errors=errors,
        server=sampled,
        clients_cpu_pct=sum(o["cpu_pct"] for o in outputs),
        connect_s=connect_s,
    )


# ---------------------------------------------------------------- one server, all phases


def profile(server: Server, args: argparse.Namespace, phase: str) -> subprocess.Popen[bytes] | None:
    """py-spy samples the server over the window (collapsed stacks) with `--profile`."""
    if not args.profile:
        return None
    out = Path(args.profile) / f"{server.label}-{phase}.txt"
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(server.pid),
         "-d", str(int(args.window)), "-o", str(out), "--format", "raw", "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@dataclass
class Run:
    label: str
    idle: Sampled
    with_clients: list[ClientFigures]


async def run_server(
    label: str, src: Path | None, args: argparse.Namespace, modes: list[bool]
) -> Run:
    """One server: idle, then each client count in each mode (bundled, plain)."""
    server = Server(label, src)
    server.start()
    try:
        await asyncio.sleep(args.warmup)
        profiler = profile(server, args, "idle")
        idle = await sample_server(server, args.window)
        if profiler is not None:
            profiler.wait()
        print(f"  {label}: idle {fmt_idle(idle)}", flush=True)
        figures = []
        for n in args.clients:
            for bundle in modes:
                f = await measure_clients(server, n, args, bundle)
                print(f"  {label}: {fmt_clients(f)}", flush=True)
                figures.append(f)
                await asyncio.sleep(3)  # the last clients leave
        return Run(label, idle, figures)
    finally:
        server.stop()


def fmt_idle(s: Sampled) -> str:
    pub = f", received-stored p99 {pct(s.pub_lag_s, 99):.2f} s" if s.pub_lag_s else ""
    return (
        f"now-stored p50 {pct(s.lag_s, 50):.2f} s p99 {pct(s.lag_s, 99):.2f} s{pub}, "
        f"backlog p99 {pct(s.backlog, 99):.0f} trades, stored {s.stored_rate:.0f}/s, "
        f"CPU {s.cpu_pct:.0f} %, RSS {s.rss_mib:.0f} MiB"
        f"{f', {s.missed} scrapes unanswered' if s.missed else ''} (load {s.load})"
    )


def fmt_clients(f: ClientFigures) -> str:
    errors = f" {f.errors}" if f.errors else ""
    who = f"{f.clients} {'bundled ' if f.bundle else ''}clients"
    return (
        f"{who} ({f.connected} connected in {f.connect_s:.0f} s): delay p50 {f.p50_ms:.0f} ms "
        f"p99 {f.p99_ms:.0f} ms, trades/s each min {f.rate_min:.0f} median "
        f"{f.rate_median:.0f}, disconnects {f.disconnects}{errors}, "
        f"server CPU {f.server.cpu_pct:.0f} % RSS {f.server.rss_mib:.0f} MiB, "
        f"client processes CPU {f.clients_cpu_pct:.0f} %, "
        f"stored lag p99 {pct(f.server.pub_lag_s, 99):.2f} s{fmt_flushes(f.server)} "
        f"(load {f.server.load})"
    )


def fmt_flushes(s: Sampled) -> str:
    if s.flushes_per_s is None or s.flush_ms is None:
        return ""
    per_write = f", {s.write_us:.1f} µs CPU per client write" if s.write_us else ""
    return f", hub {s.flushes_per_s:.0f} flushes/s of {s.flush_ms:.1f} ms CPU{per_write}"


def ratio(new: float, old: float) -> str:
    return f"{old / new:.1f}×" if new > 0 else "∞"


def report(base: Run | None, new: Run) -> None:
    print("\n| measure | baseline | this branch | baseline / branch |")
    print("|---|---|---|---|")

    def row(name: str, b: float | None, n: float, unit: str, better_low: bool = True) -> None:
        r = "" if b is None else (ratio(n, b) if better_low else ratio(b, n))
        bs = "" if b is None else f"{b:.2f} {unit}".strip()
        print(f"| {name} | {bs} | {n:.2f} {unit} | {r} |".replace(".00 ", " "))

    bi = base.idle if base else None
    row(
        "no clients: stored lag p99", bi and pct(bi.pub_lag_s, 99), pct(new.idle.pub_lag_s, 99), "s"
    )
    row(
        "no clients: now − newest stored, p99",
        bi and pct(bi.lag_s, 99),
        pct(new.idle.lag_s, 99),
        "s",
    )
    row("no clients: CPU", bi and bi.cpu_pct, new.idle.cpu_pct, "% of a core")
    row("no clients: RSS", bi and bi.rss_mib, new.idle.rss_mib, "MiB")
    plain = {f.clients: f for f in base.with_clients} if base else {}
    for f in new.with_clients:
        b = plain.get(f.clients)
        who = f"{f.clients} {'bundled ' if f.bundle else ''}clients"
        row(f"{who}: delay p50", b and b.p50_ms, f.p50_ms, "ms")
        row(f"{who}: delay p99", b and b.p99_ms, f.p99_ms, "ms")
        row(f"{who}: trades/s each (min)", b and b.rate_min, f.rate_min, "", False)
        row(f"{who}: trades/s each (median)", b and b.rate_median, f.rate_median, "", False)
        row(f"{who}: disconnects", b and b.disconnects, f.disconnects, "")
        row(f"{who}: server RSS", b and b.server.rss_mib, f.server.rss_mib, "MiB")
        row(f"{who}: server CPU", b and b.server.cpu_pct, f.server.cpu_pct, "%")
        row(f"{who}: stored lag p99", b and pct(b.server.pub_lag_s, 99),
            pct(f.server.pub_lag_s, 99), "s")  # fmt: skip
    print(f"\nload average at the end: {load_average()} (2 cores, shared)")


async def main_async(args: argparse.Namespace) -> None:
    base = None
    if args.baseline_src:
        print(f"baseline: {args.baseline_src}", flush=True)
        base = await run_server("baseline", Path(args.baseline_src), args, [False])
    print("this branch", flush=True)
    modes = {"plain": [False], "bundle": [True], "both": [True, False]}[args.modes]
    new = await run_server("branch", None, args, modes)
    report(base, new)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--baseline-src", help="the src/ directory of the code before the change")
    p.add_argument("--clients", default="100,1000,5000")
    p.add_argument("--window", type=float, default=20.0)
    p.add_argument(
        "--warmup", type=float, default=20.0, help="s before a window, once all are connected"
    )
    p.add_argument("--connect-timeout", type=float, default=300.0)
    p.add_argument("--processes", type=int, default=2, help="client processes (one up to 100)")
    p.add_argument("--connect-rate", type=float, default=500.0, help="new clients per second")
    p.add_argument(
        "--modes",
        choices=["plain", "bundle", "both"],
        default="both",
        help="the branch's clients: plain, asking for bundles, or both (bundled first)",
    )
    p.add_argument("--profile", help="write py-spy flame graphs of the idle server here")
    p.add_argument("--client-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--sample-every", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--bundle", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client_worker:
        client_worker(args)
        return
    args.clients = [int(x) for x in args.clients.split(",") if x.strip()]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    print(
        f"100 instruments × 10 trades/s; window {args.window:g} s; clients {args.clients}; "
        f"open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} (was {soft}); "
        f"load {load_average()} (2 cores, shared)",
        flush=True,
    )
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
