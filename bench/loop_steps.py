"""How long the event loop's steps of an idle `tickhub up` run, in CPU time, beside a
baseline: the live feed waits for every step, so the longest ones set its delay's tail.

    git worktree add --detach /tmp/steps-base main        # the code before the change
    .venv/bin/python bench/loop_steps.py --baseline-src /tmp/steps-base/src \\
        [--warmup 25] [--window 30] [--rounds 2]
    git worktree remove /tmp/steps-base

Each server is `tickhub up` as in `bench/fanout.py` (100 simulated instruments at 1,000
trades/s in all, SQLite, no client), started through a wrapper that times every callback
and task step of the loop with the thread's CPU clock (`time.thread_time`, so the figures
hold on a loaded machine, where wall-clock lateness mostly measures the other processes)
and every garbage collection by generation. After `--warmup` seconds it counts for
`--window` seconds, then the server is stopped and the wrapper writes its figures: steps
over 5 ms by where the task stopped, the step p99 and maximum, and the collections.
The servers run one after the other, `--rounds` times in turn.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fanout_server import SYMBOLS, free_port, load_average

# The wrapper: times each loop step (CPU of the loop's thread) and each collection within
# the window, writes them as JSON to the path in argv[1] when the process ends, then runs
# `tickhub up`.
_WRAPPER = r"""
import asyncio.events, atexit, collections, gc, json, sys, time
out_path, warmup, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic() + warmup
t1 = t0 + window
steps, slow = [], collections.Counter()
gcs = collections.defaultdict(list)
run = asyncio.events.Handle._run


def where(handle):
    task = getattr(handle._callback, "__self__", None)
    if not isinstance(task, asyncio.Task):
        return getattr(handle._callback, "__qualname__", "callback")
    chain, x = [], task.get_coro()
    while x is not None and len(chain) < 8:
        f = getattr(x, "cr_frame", None) or getattr(x, "gi_frame", None)
        if f is not None:
            chain.append(f"{f.f_code.co_name}:{f.f_lineno}")
        x = getattr(x, "cr_await", None) or getattr(x, "gi_yieldfrom", None)
    return " > ".join(chain)


def timed(self):
    c = time.thread_time()
    try:
        return run(self)
    finally:
        now = time.monotonic()
        if t0 <= now < t1:
            d = time.thread_time() - c
            steps.append(d)
            if d > 0.005:
                slow[where(self)] += 1


asyncio.events.Handle._run = timed
started = {}


def collected(phase, info):
    if phase == "start":
        started["c"] = time.thread_time()
    elif t0 <= time.monotonic() < t1:
        gcs[info["generation"]].append(time.thread_time() - started["c"])


gc.callbacks.append(collected)


def dump():
    with open(out_path, "w") as f:
        json.dump({"steps": steps, "slow": slow.most_common(8), "gc": gcs}, f)


atexit.register(dump)
from tickhub.cli import main
sys.argv = ["tickhub", "up"]
main()
"""


def measure(label: str, src: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix=f"steps-{label}-"))
    out = data / "steps.json"
    env = {
        **os.environ,
        "TICKHUB_DATA_DIR": str(data),
        "TICKHUB_DATABASE_URL": f"sqlite:///{data}/tickhub.db",
        "TICKHUB_SOURCES": "sim",
        "TICKHUB_SYMBOLS": SYMBOLS,
        "TICKHUB_SIM_RATE": "10",
        "TICKHUB_SIM_FALLBACK": "false",
        "TICKHUB_HOST": "127.0.0.1",
        "TICKHUB_PORT": str(free_port()),
        "TICKHUB_LOG_LEVEL": "WARNING",
    }
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-c", _WRAPPER, str(out), str(args.warmup), str(args.window)]
    with (data / "server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(args.warmup + args.window + 1)
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    if not out.exists():
        raise SystemExit(f"{label}: no figures; see {data / 'server.log'}")
    figures: dict[str, Any] = json.loads(out.read_text())
    figures["load"] = load_average()
    shutil.rmtree(data, ignore_errors=True)
    return figures


def summary(label: str, f: dict[str, Any]) -> str:
    steps: list[float] = sorted(f["steps"])
    gcs: dict[str, list[float]] = f["gc"]
    n = len(steps)
    p99 = steps[min(n - 1, round(0.99 * (n - 1)))] if n else float("nan")
    cpu = sum(steps)
    collections = ", ".join(
        f"gen{g} {len(v)}× {1000 * sum(v):.0f} ms (max {1000 * max(v):.1f})"
        for g, v in sorted(gcs.items())
    )
    slow = "; ".join(f"{k} ×{c}" for k, c in f["slow"])
    return (
        f"  {label}: {n} steps, {cpu:.2f} s CPU, p99 {1000 * p99:.2f} ms, max "
        f"{1000 * (steps[-1] if n else 0):.1f} ms, over 5 ms {sum(s > 0.005 for s in steps)}; "
        f"gc: {collections or 'none'} (load {f['load']})\n    longest at: {slow}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--baseline-src", help="the src/ directory of the code before the change")
    p.add_argument("--warmup", type=float, default=25.0)
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    print(f"idle tickhub up, {args.window:g} s windows; load {load_average()}", flush=True)
    for r in range(args.rounds):
        if args.baseline_src:
            print(summary(f"baseline #{r + 1}", measure("base", Path(args.baseline_src), args)))
        print(summary(f"branch #{r + 1}", measure("branch", None, args)), flush=True)


if __name__ == "__main__":
    main()
