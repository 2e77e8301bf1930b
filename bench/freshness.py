"""The freshness half of bench/ingest_distributed.py: a paced publisher stamps sim trades
with the current time, pollers ask `GET /v1/prices/sim/{symbol}` until each batch is
visible, and the latency from trade time to visibility is reported."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import httpx

from cluster import CpuMeter, cpu_line
from tickhub.bootstrap import declare_writer_queues
from tickhub.bus.rabbitmq import RabbitBus
from tickhub.common.time import now_us
from tickhub.marketdata.events import TradeBatch
from tickhub.marketdata.ingest.normalize import split_symbol
from tickhub.marketdata.ingest.sim import SimMarket
from tickhub.messages import message_codec

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBBTC", "SOLUSDT", "XRPUSDT"]


@dataclass
class Freshness:
    from_last_ms: list[float]
    from_first_ms: list[float]
    round_trip_ms: float
    pause_ms: float
    batches: int
    unseen: int
    errors: int
    cpu: dict[str, float]


@dataclass(frozen=True, slots=True)
class Sent:
    last_id: int
    first_ts: int
    last_ts: int
    counted: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def freshness(
    bus_url: str,
    db_url: str,
    base_url: str,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    interval: float,
    poll: float,
    meter: CpuMeter,
    api_alive: Callable[[], None],
) -> Freshness:
    db = await asyncpg.connect(db_url)
    try:
        last_ids = dict(
            await db.fetch(
                "SELECT i.symbol, max(c.last_id) FROM coverage c "
                "JOIN instruments i ON i.id = c.instrument_id GROUP BY i.symbol"
            )
        )
    finally:
        await db.close()
    market = SimMarket(SYMBOLS, seed=7)
    for symbol, last in last_ids.items():
        market.resume(symbol, last)
    bus = RabbitBus(bus_url, codec=message_codec(), name="bench-paced-publisher")
    await bus.start()
    await declare_writer_queues(bus)
    sent: dict[str, deque[Sent]] = {s: deque() for s in SYMBOLS}
    from_last: list[float] = []
    from_first: list[float] = []
    round_trips: list[float] = []
    errors = 0
    publishing_done = asyncio.Event()
    wake = {s: asyncio.Event() for s in SYMBOLS}
    loop = asyncio.get_running_loop()

    async def publisher() -> None:
        """Every `interval`, each instrument's trades since its previous batch, stamped over
        that span. The instruments take turns (staggered by interval / instruments), as
        flushes of live feeds fall at different moments."""
        owed = dict.fromkeys(SYMBOLS, 0.0)
        tasks: set[asyncio.Task[None]] = set()
        step = interval / len(SYMBOLS)
        start = loop.time()
        last, ticks = dict.fromkeys(SYMBOLS, now_us()), 0
        while loop.time() - start < seconds:
            s = SYMBOLS[ticks % len(SYMBOLS)]
            ticks += 1
            await asyncio.sleep(max(0.0, start + ticks * step - loop.time()))
            now = now_us()
            owed[s] += rate / len(SYMBOLS) * (now - last[s]) / 1e6
            n = int(owed[s])
            if n <= 0:
                continue
            owed[s] -= n
            trades = market.trades(s, n, last[s], now)
            last[s] = now
            base, quote_ = split_symbol(s)
            batch = TradeBatch("sim", s, tuple(trades), base, quote_, simulated=True)
            counted = loop.time() - start >= warmup
            sent[s].append(Sent(trades[-1].trade_id, trades[0].ts, trades[-1].ts, counted))
            wake[s].set()
            task = asyncio.create_task(bus.publish(batch.topic, batch))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        publishing_done.set()
        for event in wake.values():
            event.set()

    async def poller(client: httpx.AsyncClient, symbol: str) -> None:
        nonlocal errors
        pending, woken = sent[symbol], wake[symbol]
        while True:
            if not pending:  # nothing to look for: no request until the next batch
                if publishing_done.is_set():
                    return
                woken.clear()
                await woken.wait()
                continue
            asked = time.perf_counter()
            try:
                response = await client.get(f"/v1/prices/sim/{symbol}")
            except httpx.TransportError:  # e.g. a keep-alive connection closed under us
                errors += 1
                api_alive()
                continue
            seen_at = now_us()
            round_trips.append(time.perf_counter() - asked)
            if response.status_code == 200:
                trade_id = response.json()["trade_id"]
                while pending and pending[0].last_id <= trade_id:
                    s = pending.popleft()
                    if s.counted:
                        from_last.append((seen_at - s.last_ts) / 1000)
                        from_first.append((seen_at - s.first_ts) / 1000)
            if pending:
                await asyncio.sleep(poll)

    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            meter.start()
            pollers = [asyncio.create_task(poller(client, s)) for s in SYMBOLS]
            await publisher()
            with contextlib.suppress(TimeoutError):  # what is still pending is "unseen"
                await asyncio.wait_for(asyncio.gather(*pollers), 30)
            meter.stop()
    finally:
        await bus.close()
    unseen = sum(len(q) for q in sent.values())
    round_trip_ms = statistics.fmean(round_trips) * 1000 if round_trips else 0.0
    return Freshness(
        from_last,
        from_first,
        round_trip_ms,
        poll * 1000,
        len(from_last) + unseen,
        unseen,
        errors,
        dict(meter.used),
    )


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def print_freshness(fresh: Freshness, args: argparse.Namespace, window_s: float) -> None:
    print(
        f"freshness at {args.fresh_rate:,.0f} trades/s for {args.fresh_seconds:g} s "
        f"(first {args.fresh_warmup:g} s not counted), {fresh.batches:,} batches, "
        f"polled every {fresh.round_trip_ms + fresh.pause_ms:.1f} ms while a batch is pending "
        f"(request {fresh.round_trip_ms:.1f} + pause {fresh.pause_ms:g})"
        f"{f', {fresh.unseen} never seen' if fresh.unseen else ''}"
        f"{f', {fresh.errors} failed polls' if fresh.errors else ''}"
    )
    last, first = fresh.from_last_ms, fresh.from_first_ms
    if len(last) < 2:
        print("  too few batches seen for percentiles")
        return
    print(
        f"  batch's last trade → visible in the API: p50 {pct(last, 50):.0f} ms, "
        f"p95 {pct(last, 95):.0f} ms, p99 {pct(last, 99):.0f} ms, max {max(last):.0f} ms"
    )
    print(
        f"  batch's first trade (adds the {window_s * 1000:g} ms batching window): "
        f"p50 {pct(first, 50):.0f} ms, p99 {pct(first, 99):.0f} ms"
    )
    print(cpu_line(fresh.cpu, args.fresh_seconds))
