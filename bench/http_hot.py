"""The latest-price hot path over HTTP, beside a bare Starlette app (and the code before a
change), measured in interleaved rounds so a shared machine's changing load falls on
every server alike.

    .venv/bin/python bench/http_hot.py [--baseline-src DIR] [--rounds 5] [--seconds 3]
        [--log-level warning|info] [--trades 30000] [--data FILE]

Servers: the bare app of `http_reads.py` (uvicorn, one process), `tickhub api` on this
checkout and, with `--baseline-src`, `tickhub api` on that `src/` directory (a `git
worktree` of the commit before the change), over the same SQLite file. Each round runs
wrk (2 threads, 16 connections) once against every target, in a rotating order; each
figure is the median over the rounds. Besides rps, p50 and p99, the server's CPU time per
request (its process's user + system time over the run, writer threads included) is
given: on a busy machine it moves much less than rps, and bare/this is the share of the
bare app's throughput the route would reach with the CPU to itself.

`--log-level` is given to every server alike, each with its own default access log:
uvicorn's (one text line per request, written by the request's own thread) for the bare
app, tickhub's JSON line for tickhub. At `info` (the default of both `uvicorn` and
`tickhub api`) both write a line per request, and a second bare app without its access
log (`--no-access-log`) is measured too; at `warning` neither writes any. The servers'
stdout goes to /dev/null.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import http_reads as hr

PATHS = ("/api/current_price/?symbol=BTCUSDT", "/v1/prices/binance/BTCUSDT")


def cpu_seconds(pid: int) -> float:
    """User + system time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-src", help="the src/ directory of the code before a change")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument(
        "--log-level",
        default="warning",
        help="of every server: TICKHUB_LOG_LEVEL of tickhub, uvicorn's --log-level of the bare app",
    )
    parser.add_argument("--trades", type=int, default=30_000, help="trades in all")
    parser.add_argument("--data", help="SQLite file kept between runs (loaded when absent)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.data).resolve() if args.data else Path(tmp) / "hot.db"
        if not db.exists():
            asyncio.run(hr.load(f"sqlite:///{db}", args.trades // len(hr.SYMBOLS)))
        script = str(Path(tmp) / "report.lua")
        Path(script).write_text(hr.WRK_REPORT)
        (Path(tmp) / "bare.py").write_text(hr.BARE_APP)
        port = hr.free_port()
        servers = [
            hr.Server(
                [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare:app", "--port",
                 str(port), "--log-level", args.log_level],
                {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                f"http://127.0.0.1:{port}/",
            )
        ]  # fmt: skip
        targets = {"bare Starlette, constant JSON": (0, f"http://127.0.0.1:{port}/")}
        access_on = args.log_level.lower() in {"info", "debug", "trace"}
        if access_on:  # and the stricter mark: the bare app logging nothing
            port = hr.free_port()
            servers.append(
                hr.Server(
                    [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare:app", "--port",
                     str(port), "--log-level", args.log_level, "--no-access-log"],
                    {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                    f"http://127.0.0.1:{port}/",
                )
            )  # fmt: skip
            targets["bare Starlette, no access log"] = (1, f"http://127.0.0.1:{port}/")
        versions: list[tuple[str, str | None]] = [("this checkout", None)]
        if args.baseline_src:
            versions.insert(0, ("baseline", str(Path(args.baseline_src).resolve())))
        for name, src in versions:
            port = hr.free_port()
            env = hr.tickhub_env(f"sqlite:///{db}", port)
            env["TICKHUB_LOG_LEVEL"] = args.log_level
            env.pop("PYTHONPATH", None)
            if src:
                env["PYTHONPATH"] = src
            servers.append(
                hr.Server(
                    [sys.executable, "-m", "tickhub", "api"],
                    env,
                    f"http://127.0.0.1:{port}/healthz",
                )
            )
            for path in PATHS:
                targets[f"{name}: {path}"] = (len(servers) - 1, f"http://127.0.0.1:{port}{path}")
        try:
            for s in servers:
                s.start()
            for _, url in targets.values():
                hr.wait_ready(url)
                hr.wrk(url, 1, 16, script)  # warm-up
            runs: dict[str, list[hr.Run]] = {k: [] for k in targets}
            cpu: dict[str, list[float]] = {k: [] for k in targets}
            loads = []
            order = list(targets)
            for r in range(args.rounds):
                loads.append(os.getloadavg()[0])
                for label in order[r % len(order) :] + order[: r % len(order)]:
                    index, url = targets[label]
                    pid = servers[index].proc.pid  # type: ignore[union-attr]
                    before, t0 = cpu_seconds(pid), time.perf_counter()
                    run = hr.wrk(url, args.seconds, 16, script)
                    requests = run.rps * (time.perf_counter() - t0) if run.rps else 0
                    runs[label].append(run)
                    cpu[label].append((cpu_seconds(pid) - before) / max(requests, 1) * 1e6)
        finally:
            for s in servers:
                s.stop()
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} cores, load "
          f"average {min(loads):.1f}-{max(loads):.1f} during the rounds; tickhub log level "
          f"{args.log_level}; {args.rounds} interleaved rounds of {args.seconds:g} s, wrk 2 "
          "threads x 16 connections, medians; the bare app at the same log level, uvicorn's "
          f"access log {'on' if access_on else 'off'}")  # fmt: skip
    bare_label = next(iter(targets))
    bare_rps = statistics.median(r.rps for r in runs[bare_label])
    bare_cpu = statistics.median(cpu[bare_label])
    print(f"{'target':50} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'× bare':>6} "
          f"{'CPU µs/req':>10} {'bare/this':>9}  errors")  # fmt: skip
    for label, found in runs.items():
        rps = statistics.median(r.rps for r in found)
        us = statistics.median(cpu[label])
        errors = sum(r.errors + r.non2xx for r in found)
        print(f"{label:50} {rps:7,.0f} {statistics.median(r.p50 for r in found):7.2f} "
              f"{statistics.median(r.p99 for r in found):7.2f} {rps / bare_rps:6.2f} "
              f"{us:10.0f} {bare_cpu / us:9.2f}  {errors}")  # fmt: skip


if __name__ == "__main__":
    main()
