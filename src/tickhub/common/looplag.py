"""How late the event loop runs what is due: a probe for long steps.

While one callback or task step runs, nothing else on the loop does: a live feed waits
for it, and every client's delay grows by it. `LoopLag` schedules a timer every
`interval_s` and records how late each one fires (the loop's time when it runs minus the
time it was due), which is the length of whatever step held the loop at that moment (or
the tail of it). The figures are kept as a cumulative histogram, for `/metrics`.

The timer is a plain `call_at` callback, not a task: about 50 a second at the default
interval, a few microseconds each.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass, field

# Upper bounds (seconds) of the histogram's buckets; a last one holds the rest.
BUCKETS: tuple[float, ...] = (
    0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5,
)  # fmt: skip


@dataclass
class LagFigures:
    """What the probe has seen since it started."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total_s: float = 0.0  # sum of every lag
    max_s: float = 0.0

    @property
    def samples(self) -> int:
        return sum(self.counts)

    def add(self, lag: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, lag)] += 1
        self.total_s += lag
        self.max_s = max(self.max_s, lag)


class LoopLag:
    """Measures the running loop's lateness every `interval_s`; `start`/`stop` belong to
    the app's lifespan."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.figures = LagFigures()
        self._handle: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._schedule(loop, loop.time() + self.interval_s)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._handle = loop.call_at(due, self._fire, loop, due)

    def _fire(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.figures.add(max(0.0, now - due))
        self._schedule(loop, now + self.interval_s)


class Slices:
    """Cuts a long loop of work into steps: `await slices.step()` between items yields to
    the event loop once the work has run `slice_s` since it began or last yielded, and
    costs a clock read otherwise (work that is short never yields, so a quiet process
    does not pay for it)."""

    def __init__(self, slice_s: float = 0.005) -> None:
        self._slice_s = slice_s
        self._since = time.perf_counter()

    async def step(self) -> None:
        if time.perf_counter() - self._since >= self._slice_s:
            await asyncio.sleep(0)
            self._since = time.perf_counter()
