"""`Coalescer` alone: waiters share one computation and its error; a computation whose
requesters all left still ends, and the next request computes afresh."""

from __future__ import annotations

import asyncio

import pytest

from tickhub.marketdata.live.coalesce import Coalescer, coalesced


class Boom(Exception):
    pass


async def test_an_error_reaches_every_waiter_then_is_forgotten() -> None:
    gate = asyncio.Event()
    calls = 0

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise Boom(calls)

    all_in = asyncio.Event()
    flights = Coalescer(on_join=lambda _key, n: all_in.set() if n == 3 else None)
    waiters = [asyncio.create_task(flights.run("k", failing)) for _ in range(3)]
    await all_in.wait()
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert [type(r) for r in results] == [Boom] * 3
    assert calls == 1 and flights.in_flight == 0
    with pytest.raises(Boom):
        await flights.run("k", failing)
    assert calls == 2


async def test_a_computation_every_requester_left_still_ends() -> None:
    gate, ended = asyncio.Event(), asyncio.Event()

    async def slow() -> bytes:
        await gate.wait()
        ended.set()
        return b"x"

    started = asyncio.Event()

    async def on_start(_key: object) -> None:
        started.set()

    flights = Coalescer(on_start=on_start)
    waiter = asyncio.create_task(flights.run("k", slow))
    await started.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert flights.in_flight == 1  # still computing, for whoever comes next
    joined = asyncio.create_task(flights.run("k", slow))
    gate.set()
    assert await joined == b"x"
    assert ended.is_set() and flights.computed == 1 and flights.in_flight == 0


async def test_without_a_coalescer_each_reads_alone() -> None:
    async def read() -> bytes:
        return b"y"

    assert await coalesced(None, "k", read) == b"y"
