"""Wall-clock minute ticks without drift or busy waiting (seed 002's TODO).

Each wait is computed afresh from the clock to the next UTC minute boundary, so the
time an iteration's work takes, or a sleep that wakes late, never accumulates: the
tick after a slow minute is still on a boundary. Boundaries that passed while the
consumer was busy (a long stall, a suspended laptop) are not replayed one by one: the
latest passed boundary is yielded once, with the number skipped before it.

The clock and the sleep are injected, so tests run hours in microseconds.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

Clock = Callable[[], float]
"""Seconds since the Unix epoch, UTC (like `time.time`)."""
Sleep = Callable[[float], Awaitable[None]]
"""Waits this many seconds (like `asyncio.sleep`)."""

MINUTE_S = 60


@dataclass(frozen=True, slots=True)
class MinuteTick:
    """One minute boundary, yielded once."""

    at: datetime  # the boundary itself, UTC, second and microsecond 0
    skipped: int = 0  # boundaries that passed unseen since the previous tick

    @property
    def epoch_s(self) -> int:
        return int(self.at.timestamp())


def next_boundary(now: float) -> float:
    """The first minute boundary strictly after `now` (epoch seconds)."""
    return (math.floor(now / MINUTE_S) + 1) * MINUTE_S


async def minute_ticks(
    clock: Clock = time.time, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[MinuteTick]:
    """Yield every UTC minute boundary after the start, each exactly once.

    Every sleep lasts more than 0 and at most 60 seconds: the wait to the next boundary,
    read from the clock each time. A sleep that wakes early just sleeps the rest.
    """
    # Index (epoch minutes) of the boundary yielded last; at the start, the one just passed.
    last = math.floor(clock() / MINUTE_S)
    while True:
        now = clock()
        current = math.floor(now / MINUTE_S)  # the latest boundary at or before now
        target = last + 1
        if current >= target:
            skipped = current - target
            last = current
            yield MinuteTick(at=datetime.fromtimestamp(current * MINUTE_S, UTC), skipped=skipped)
            continue
        # current < target, so now < target * 60 and target * 60 - now <= 60.
        await sleep(target * MINUTE_S - now)
