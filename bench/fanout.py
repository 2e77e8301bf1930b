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
`BufferedProtocol` on a raw socket that does the WebSocket upgrade by hand and never
parses a frame; a process's clients receive into one shared buffer. Every client counts
the bytes it receives; about 100 clients (one in n/100) also count their trades with
`count(b'"trade_id"')` and take the delay from the last trade time in the chunk
(`rfind(b'"time":"')`, the newest trade of the newest message) to the chunk's arrival.
Every client subscribes to the same stream, so the others' trades are their bytes at the
counting clients' trades per byte (scanning for trades runs at ~1 GB/s here, and 5,000
clients receive about half a gigabyte a second: the clients counting every trade took
more of the 2 cores than the server, and were what fell behind). A few bytes of each
chunk are kept with the next, so a marker split between two chunks is counted once; the
server's keepalive pings (`\x89\x04` + 4 bytes, found by memchr) are answered with pongs.
The server's log gives the clients it dropped as too slow, by reason (over the buffer
limit, or behind for over the send timeout). A client whose connection ends before the
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
import contextlib
import resource
from dataclasses import dataclass
from pathlib import Path

from fanout_clients import ClientFigures, client_worker, measure_clients
from fanout_server import Sampled, Server, load_average, pct, profile, sample_server

# ---------------------------------------------------------------- one server, all phases


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
        f"CPU {s.cpu_pct:.0f} %, RSS {s.rss_mib:.0f} MiB{fmt_lag(s)}"
        f"{f', {s.missed} scrapes unanswered' if s.missed else ''} (load {s.load})"
    )


def fmt_clients(f: ClientFigures) -> str:
    errors = f" {f.errors}" if f.errors else ""
    if f.dropped:
        errors += " dropped as too slow: " + ", ".join(f"{v} {k}" for k, v in f.dropped.items())
    who = f"{f.clients} {'bundled ' if f.bundle else ''}clients"
    return (
        f"{who} ({f.connected} connected in {f.connect_s:.0f} s): delay p50 {f.p50_ms:.0f} ms "
        f"p99 {f.p99_ms:.0f} ms, trades/s each min {f.rate_min:.0f} median "
        f"{f.rate_median:.0f}, disconnects {f.disconnects}{errors}, "
        f"server CPU {f.server.cpu_pct:.0f} % RSS {f.server.rss_mib:.0f} MiB, "
        f"client processes CPU {f.clients_cpu_pct:.0f} %, "
        f"stored lag p99 {pct(f.server.pub_lag_s, 99):.2f} s{fmt_lag(f.server)}"
        f"{fmt_flushes(f.server)} "
        f"(load {f.server.load})"
    )


def fmt_lag(s: Sampled) -> str:
    """The event loop's lag over the window (servers that measure it)."""
    if s.loop_lag_p99_ms is None or s.loop_lag_max_ms is None:
        return ""
    return f", loop lag p99 {s.loop_lag_p99_ms:.0f} ms max {s.loop_lag_max_ms:.0f} ms"


def fmt_flushes(s: Sampled) -> str:
    if s.flushes_per_s is None or s.flush_ms is None:
        return ""
    per_write = f", {s.write_us:.1f} µs CPU per client write" if s.write_us else ""
    return f", hub {s.flushes_per_s:.0f} flushes/s of {s.flush_ms:.1f} ms CPU{per_write}"


def lag_row(who: str, b: Sampled | None, n: Sampled) -> None:
    """The event loop's lag p99 and max, where the servers measure it."""
    for name, get in (("p99", "loop_lag_p99_ms"), ("max", "loop_lag_max_ms")):
        nv: float | None = getattr(n, get)
        bv: float | None = None if b is None else getattr(b, get)
        if nv is None and bv is None:
            continue
        cells = ["" if v is None else f"{v:.0f} ms" for v in (bv, nv)]
        print(f"| {who}: event loop lag {name} | {cells[0]} | {cells[1]} | |")


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
        "no clients: stored lag p99",
        None if bi is None else pct(bi.pub_lag_s, 99),
        pct(new.idle.pub_lag_s, 99),
        "s",
    )
    row(
        "no clients: now − newest stored, p99",
        None if bi is None else pct(bi.lag_s, 99),
        pct(new.idle.lag_s, 99),
        "s",
    )
    row("no clients: CPU", None if bi is None else bi.cpu_pct, new.idle.cpu_pct, "% of a core")
    row("no clients: RSS", None if bi is None else bi.rss_mib, new.idle.rss_mib, "MiB")
    lag_row("no clients", bi, new.idle)
    plain = {f.clients: f for f in base.with_clients} if base else {}
    for f in new.with_clients:
        b = plain.get(f.clients)
        who = f"{f.clients} {'bundled ' if f.bundle else ''}clients"
        row(f"{who}: delay p50", None if b is None else b.p50_ms, f.p50_ms, "ms")
        row(f"{who}: delay p99", None if b is None else b.p99_ms, f.p99_ms, "ms")
        row(f"{who}: trades/s each (min)", None if b is None else b.rate_min, f.rate_min, "", False)
        row(
            f"{who}: trades/s each (median)",
            None if b is None else b.rate_median,
            f.rate_median,
            "",
            False,
        )
        row(f"{who}: disconnects", None if b is None else b.disconnects, f.disconnects, "")
        row(f"{who}: server RSS", None if b is None else b.server.rss_mib, f.server.rss_mib, "MiB")
        row(f"{who}: server CPU", None if b is None else b.server.cpu_pct, f.server.cpu_pct, "%")
        row(f"{who}: stored lag p99", None if b is None else pct(b.server.pub_lag_s, 99),
            pct(f.server.pub_lag_s, 99), "s")  # fmt: skip
        lag_row(who, None if b is None else b.server, f.server)
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
