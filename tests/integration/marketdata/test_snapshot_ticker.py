"""The snapshot's minute ticker is supervised: when it fails it starts again."""

from __future__ import annotations

import asyncio

from tickhub.marketdata.live.snapshot import SnapshotCache
from tickhub.runtime import Runtime


async def test_the_minute_ticker_starts_again_after_a_failure(runtime: Runtime) -> None:
    calls = 0
    resumed = asyncio.Event()

    async def flaky_sleep(_seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("the timer failed")
        resumed.set()
        await asyncio.Event().wait()

    cache = SnapshotCache(runtime.engine, runtime.bus, sleep=flaky_sleep)
    await cache.start()
    try:
        await asyncio.wait_for(resumed.wait(), 30)  # after the restart pause (1 s)
        assert cache.ticker_restarts == 1
        assert cache._ticker is not None and not cache._ticker.done()
    finally:
        await cache.stop()
