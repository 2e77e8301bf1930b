"""The scanner and the delivery worker of `scanning()` are supervised: a scanner whose
run fails is started again instead of leaving a live process that scans nothing."""

from __future__ import annotations

import asyncio

from tests.fixtures.clocks import FakeTime
from tickhub.bootstrap import scanning
from tickhub.runtime import Runtime

T0 = 1_700_000_000.0


async def test_a_scanner_that_fails_is_started_again(runtime: Runtime) -> None:
    time = FakeTime(T0, until=T0 + 3600)
    resumed = asyncio.Event()
    calls = 0

    async def flaky_sleep(seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("the clock's source went away")
        resumed.set()
        await time.sleep(seconds)

    async with scanning(
        runtime.settings, runtime.engine, runtime.bus, clock=time.clock, sleep=flaky_sleep
    ) as alerting:
        await asyncio.wait_for(resumed.wait(), 30)  # after the supervisor's backoff (1 s)
        assert alerting.supervisor.restarts == {"scanner": 1}
