"""Venues: three local fake venues at a combined 30,000 trades/s through the connector
engine (and ccxt), the tracker, the in-memory bus and the writer into SQLite, beside the
Binance source alone measured in the same run.

    .venv/bin/python bench/venues.py [--rate 30000] [--seconds 5]

The fakes (Binance, Coinbase Exchange, and Coinbase Exchange again behind ccxt's
`coinbaseexchange` class) run in a child process and push trades on a fixed schedule;
this process runs only the pipeline, so its CPU time (`time.process_time`, the SQLite
thread included) divided by the trades stored is the pipeline's CPU per trade. A run
ends when every pushed trade is stored, or when nothing more is stored for 5 s: `lost`
counts the trades a venue's client dropped (ccxt's watch cache when it falls behind;
the native venues backfill over REST, so they lose none). Each venue first runs alone at
its share of the rate (its trades/s and CPU per trade), then the three together.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from tests.fixtures.fake_binance import FakeBinance
from tests.fixtures.fake_coinbase import FakeCoinbase

from tickhub.bus import MemoryBus
from tickhub.db import create_engine
from tickhub.marketdata.ingest.binance.source import BinanceSource
from tickhub.marketdata.ingest.ccxt import CcxtSource
from tickhub.marketdata.ingest.coinbase import CoinbaseSource
from tickhub.marketdata.ingest.source import Source
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.settings import BinanceSettings, CcxtSettings, CoinbaseSettings

VENUES = ("binance", "coinbase", "ccxt")
STORED_AS = {"binance": "binance", "coinbase": "coinbase", "ccxt": "coinbaseexchange"}
TICK_S = 0.01


# -- the fakes, in a child process ------------------------------------------------------


def fakes_main(conn: Connection, venues: list[str], rate: int, seconds: float) -> None:
    asyncio.run(_fakes(conn, venues, rate, seconds))


async def _fakes(conn: Connection, venues: list[str], rate: int, seconds: float) -> None:
    binance, coinbase, ccxt_side = FakeBinance(), FakeCoinbase(), FakeCoinbase()
    for fake in (binance, coinbase, ccxt_side):
        await fake.start()
    conn.send(
        {
            "binance": (binance.ws_url, binance.rest_url),
            "coinbase": (coinbase.ws_url, coinbase.rest_url),
            "ccxt": (ccxt_side.ws_url, ccxt_side.rest_url),
        }
    )
    if "binance" in venues:
        await binance.wait_for_connections(1, within_s=60)
    if "coinbase" in venues:
        await coinbase.wait_for_subscriptions(1, within_s=60)
    if "ccxt" in venues:
        await ccxt_side.wait_for_subscriptions(1, within_s=60)
    conn.send("ready")
    conn.recv()  # go
    per_tick = max(1, round(rate / len(venues) * TICK_S))
    ticks = round(seconds / TICK_S)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    next_id = 1
    for tick in range(ticks):
        ids = range(next_id, next_id + per_tick)
        if "binance" in venues:
            await binance.push("BTCUSDT", ids)
        if "coinbase" in venues:
            await coinbase.push("BTC-USD", ids)
        if "ccxt" in venues:
            await ccxt_side.push("BTC-USD", ids)
        next_id += per_tick
        delay = t0 + (tick + 1) * TICK_S - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
    push_s = loop.time() - t0
    conn.send({"per_venue": next_id - 1, "push_s": push_s})
    conn.recv()  # stop
    for fake in (binance, coinbase, ccxt_side):
        await fake.stop()


# -- the pipeline, here -----------------------------------------------------------------


def make_sources(venues: list[str], urls: dict[str, tuple[str, str]]) -> list[Source]:
    fast: dict[str, Any] = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5}
    out: list[Source] = []
    if "binance" in venues:
        ws, rest = urls["binance"]
        out.append(BinanceSource(BinanceSettings(ws_url=ws, rest_url=rest, **fast), ["BTCUSDT"]))
    if "coinbase" in venues:
        ws, rest = urls["coinbase"]
        settings = CoinbaseSettings(ws_url=ws, rest_url=rest, **fast)
        out.append(CoinbaseSource(settings, ["BTC-USD"]))
    if "ccxt" in venues:
        ws, rest = urls["ccxt"]
        ccxt_settings = CcxtSettings(urls={"public": rest, "private": rest, "ws": ws}, **fast)
        out.append(CcxtSource(ccxt_settings, "coinbaseexchange", ["BTC/USD"]))
    return out


async def stored(engine: Any) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT e.name, count(*) FROM trades t JOIN instruments i ON t.instrument_id = i.id"
                " JOIN exchanges e ON i.exchange_id = e.id GROUP BY e.name"
            )
        )
        return {str(r[0]): int(r[1]) for r in rows}


async def run(venues: list[str], rate: int, seconds: float) -> dict[str, Any]:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=fakes_main, args=(child, venues, rate, seconds))
    proc.start()
    urls = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        await upgrade(engine)
        bus = MemoryBus(maxsize=64)
        writer = Writer(engine)
        for _ in range(2):
            await bus.subscribe("trades.#", writer.handle, group="writer")
        tracker = Tracker(bus, max_trades=5000, max_delay_s=0.1)
        tracker.start(make_sources(venues, urls))
        await asyncio.to_thread(parent.recv)  # ready
        cpu0, t0 = time.process_time(), time.perf_counter()
        parent.send("go")
        done = await asyncio.to_thread(parent.recv)
        want = {STORED_AS[v]: done["per_venue"] for v in venues}
        last, last_change = -1, time.perf_counter()
        while True:  # until every pushed trade is stored, or nothing more arrives for 5 s
            have = await stored(engine)
            count = sum(have.get(k, 0) for k in want)
            now = time.perf_counter()
            if count != last:
                last, last_change, end_cpu, end_t = count, now, time.process_time(), now
            if all(have.get(k, 0) >= n for k, n in want.items()) or now - last_change > 5:
                break
            await asyncio.sleep(0.05)
        elapsed, cpu = end_t - t0, end_cpu - cpu0
        parent.send("stop")
        await tracker.stop()
        await bus.close()
        await engine.dispose()
    proc.join(30)
    total = sum(want.values())
    return {
        "trades": total,
        "stored": last,
        "rate": last / elapsed,
        "push_rate": total / done["push_s"],
        "cpu_us": cpu / max(last, 1) * 1e6,
        "lost_by_venue": {k: n - have.get(k, 0) for k, n in want.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=30_000, help="combined trades/s")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    share = args.rate // len(VENUES)
    results: list[tuple[str, dict[str, Any]]] = []
    for venue in VENUES:
        results.append(
            (f"{venue} alone @ {share:,}/s", asyncio.run(run([venue], share, args.seconds)))
        )
    together = asyncio.run(run(list(VENUES), args.rate, args.seconds))
    results.append((f"all three @ {args.rate:,}/s", together))
    base = results[0][1]
    print(
        f"{'run':<26} {'trades':>8} {'offered/s':>10} {'stored/s':>10}"
        f" {'lost':>7} {'CPU µs/trade':>13} {'CPU vs binance':>15}"
    )
    for name, r in results:
        print(
            f"{name:<26} {r['trades']:>8,.0f} {r['push_rate']:>10,.0f} {r['rate']:>10,.0f}"
            f" {r['trades'] - r['stored']:>7,.0f}"
            f" {r['cpu_us']:>13.1f} {r['cpu_us'] / base['cpu_us']:>14.2f}×"
        )
    print("lost in the combined run, by venue:", together["lost_by_venue"])


if __name__ == "__main__":
    main()
