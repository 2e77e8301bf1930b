"""minute_ticks with a fake clock: hours in microseconds, no drift, no busy waiting."""

from __future__ import annotations

import random
from itertools import pairwise

from tests.fixtures.clocks import FakeTime
from tickhub.common.clock import MINUTE_S, minute_ticks

START = 1_700_000_000.0 + 17.25  # not on a boundary


async def test_six_hours_no_drift_with_random_work() -> None:
    fake = FakeTime(START)
    rng = random.Random(7)
    ticks = []
    end = START + 6 * 3600
    async for tick in minute_ticks(fake.clock, fake.sleep):
        if tick.epoch_s > end:
            break
        ticks.append(tick)
        fake.now += rng.uniform(0, 20)  # the iteration's work
    assert len(ticks) == 360
    assert all(t.epoch_s % MINUTE_S == 0 for t in ticks)
    assert all(t.at.second == 0 and t.at.microsecond == 0 for t in ticks)
    assert [b.epoch_s - a.epoch_s for a, b in pairwise(ticks)] == [60] * 359
    assert all(t.skipped == 0 for t in ticks)
    assert ticks[0].epoch_s == (int(START) // 60 + 1) * 60
    # Each wake-up lands on the boundary itself: the clock never drifts past it.
    assert all(0 < s <= MINUTE_S for s in fake.sleeps)
    # One sleep per tick (the last one reached the tick past the end): no extra wake-ups.
    assert len(fake.sleeps) == len(ticks) + 1


async def test_sleep_that_wakes_late_or_early_does_not_drift() -> None:
    fake = FakeTime(START)
    rng = random.Random(3)

    async def jittery_sleep(seconds: float) -> None:
        fake.sleeps.append(seconds)
        fake.now += seconds * rng.uniform(0.9, 1.05)

    ticks = []
    async for tick in minute_ticks(fake.clock, jittery_sleep):
        ticks.append(tick)
        if len(ticks) == 120:
            break
    assert [t.epoch_s for t in ticks] == [ticks[0].epoch_s + 60 * i for i in range(120)]
    assert all(0 < s <= MINUTE_S for s in fake.sleeps)


async def test_stall_reports_skipped_and_resumes_on_boundary() -> None:
    fake = FakeTime(START)
    seen = []
    async for tick in minute_ticks(fake.clock, fake.sleep):
        seen.append(tick)
        if len(seen) == 2:
            fake.now += 5 * 60 + 12.5  # a 5-minute stall
        if len(seen) == 4:
            break
    first, second, after_stall, next_one = seen
    assert second.epoch_s - first.epoch_s == 60
    # The stall ran from second+0 to second+312.5: boundaries +60..+240 missed, +300 yielded.
    assert after_stall.epoch_s == second.epoch_s + 300
    assert after_stall.skipped == 4
    assert next_one.epoch_s == after_stall.epoch_s + 60
    assert next_one.skipped == 0
    assert all(0 < s <= MINUTE_S for s in fake.sleeps)
