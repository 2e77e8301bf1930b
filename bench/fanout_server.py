"""The server side of bench/fanout.py: `tickhub up` as a subprocess on the simulated
market, and what is sampled from it (CPU, RSS, /metrics)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from procstat import cpu_seconds

SYMBOLS = ",".join(f"S{i:03d}USDT" for i in range(100))
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


_DROP = re.compile(rb"dropping live client \d+: too slow: (over|behind|its send queue|a send)")
_DROP_NAMES = {
    b"over": "buffer", b"behind": "timeout", b"its send queue": "queue", b"a send": "send"
}  # fmt: skip
_METRIC = re.compile(r"^(tickhub_[a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.MULTILINE)


_LAG_BUCKET = re.compile(
    r'^tickhub_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.eE+-]+)$', re.MULTILINE
)


def lag_buckets(text: str) -> dict[float, float]:
    """The event-loop lag histogram (servers that have it): cumulative count by bound."""
    return {float(m[1]): float(m[2]) for m in _LAG_BUCKET.finditer(text)}


def lag_quantile(first: dict[float, float], last: dict[float, float], q: float) -> float:
    """The `q` quantile (0..1) of the lags between two scrapes, interpolated in its bucket
    (as Prometheus' `histogram_quantile`); the last finite bound when it lies beyond."""
    bounds = sorted(last)
    counts = [last[b] - first.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return float("nan")
    rank, lower, below = q * counts[-1], 0.0, 0.0
    for bound, n in zip(bounds, counts, strict=True):
        if n >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(n - below, 1e-9)
        lower, below = bound, n
    return lower


def scrape(port: int) -> dict[str, float]:
    """The server's tickhub metrics, and `newest_received`: the newest trade time the
    tracker has received from the simulated source (`/v1/sources`)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {m[1]: float(m[2]) for m in _METRIC.finditer(text)}
    out.update({f"lag_le {b}": n for b, n in lag_buckets(text).items()})
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

    def drops(self) -> dict[str, int]:
        """The clients the server has dropped as too slow so far, by reason (its log):
        `buffer` (past `max_buffer_bytes` unsent), `timeout` (behind for over the send
        timeout), `queue`/`send` (the queued path)."""
        counts: dict[str, int] = {}
        if self.log is not None and self.log.exists():
            for m in _DROP.finditer(self.log.read_bytes()):
                name = _DROP_NAMES[m[1]]
                counts[name] = counts.get(name, 0) + 1
        return counts

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
    # the event loop's lag over the window (servers that measure it): p99 and max, ms
    loop_lag_p99_ms: float | None = None
    loop_lag_max_ms: float | None = None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


async def sample_server(server: Server, seconds: float) -> Sampled:
    out = Sampled()
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    first = last = None
    hub: list[tuple[float, float, float, float]] = []  # (time, flushes, cpu s, writes)
    lags: list[tuple[dict[float, float], float]] = []  # (lag histogram, max seen) per scrape
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
        buckets = {float(k.split()[1]): v for k, v in m.items() if k.startswith("lag_le ")}
        if buckets:
            lags.append((buckets, m.get("tickhub_event_loop_lag_max_seconds", 0.0)))
        published = m.get("tickhub_tracker_trades_published_total", 0.0)
        stored = m.get("tickhub_writer_trades_new_total", 0.0)
        out.backlog.append(published - stored)
        if first is None:
            first = (time.monotonic(), stored)
        last = (time.monotonic(), stored)
        await asyncio.sleep(1.0)
    out.cpu_pct = 100 * (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - t0)
    if first is not None and last is not None and last[0] > first[0]:
        out.stored_rate = (last[1] - first[1]) / (last[0] - first[0])
    out.load = load_average()
    if len(hub) >= 2 and hub[-1][1] > hub[0][1]:
        dt, flushes, cpu, writes = (b - a for a, b in zip(hub[0], hub[-1], strict=True))
        out.flushes_per_s = flushes / dt
        out.flush_ms = 1000 * cpu / flushes
        out.write_us = 1e6 * cpu / writes if writes else None
    if len(lags) >= 2:
        (h0, max0), (h1, max_s) = lags[0], lags[-1]
        out.loop_lag_p99_ms = 1000 * lag_quantile(h0, h1, 0.99)
        # the highest bucket a lag of the window fell into (the counts are cumulative),
        # or the maximum when it grew in the window
        window = [h1[b] - h0.get(b, 0.0) for b in sorted(h1)]
        own = [n - below for n, below in zip(window, [0.0, *window[:-1]], strict=True)]
        top = max((b for b, n in zip(sorted(h1), own, strict=True) if n > 0), default=0.0)
        out.loop_lag_max_ms = 1000 * (max_s if max_s > max0 or top == float("inf") else top)
    return out


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
