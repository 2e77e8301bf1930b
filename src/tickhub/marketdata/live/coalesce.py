"""Identical reads in flight at the same time share one computation (single flight).

While the answer to a key is being computed, an identical request waits for that
computation and gets its bytes instead of reading again: a live chart opened by many
(windows that end now are never kept by the read cache) costs one read per round, not
one per client. A waiter's answer was computed at most the computation's duration
before it arrived. Nothing is kept once the computation ends: the next request computes
afresh, whether it ended with an answer or an error.

The computation runs as its own task, so a requester that disconnects (its request
task cancelled) cancels only its own wait; the others are still answered. An error
reaches every waiter as its own request's error. At most one body per distinct key in
flight is held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any


class Coalescer:
    """`run(key, compute)`: `compute()`'s bytes, shared with every identical `run` that
    arrives while it is in flight. Hooks that tests use as gates: `on_start(key)` is
    awaited at the start of each computation, `on_join(key, waiters)` called each time a
    request joins a computation already in flight."""

    def __init__(
        self,
        *,
        on_start: Callable[[Hashable], Awaitable[None]] | None = None,
        on_join: Callable[[Hashable, int], None] | None = None,
    ) -> None:
        self._flights: dict[Hashable, asyncio.Task[bytes]] = {}
        self._waiters: dict[Hashable, int] = {}
        self._on_start = on_start
        self._on_join = on_join
        self.computed = 0  # computations started
        self.joined = 0  # requests answered by a computation another started

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, compute: Callable[[], Coroutine[Any, Any, bytes]]) -> bytes:
        task = self._flights.get(key)
        if task is None:
            task = asyncio.create_task(self._compute(key, compute))
            self.computed += 1
            self._flights[key] = task
            self._waiters[key] = 1
            task.add_done_callback(lambda t: self._landed(key, t))
        else:
            self.joined += 1
            self._waiters[key] += 1
            if self._on_join is not None:
                self._on_join(key, self._waiters[key])
        # a cancelled requester stops waiting; the computation goes on for the others
        return await asyncio.shield(task)

    async def _compute(
        self, key: Hashable, compute: Callable[[], Coroutine[Any, Any, bytes]]
    ) -> bytes:
        if self._on_start is not None:
            await self._on_start(key)
        return await compute()

    def _landed(self, key: Hashable, task: asyncio.Task[bytes]) -> None:
        # registered first, so it runs before any waiter resumes: a request that
        # arrives once the answer is out computes afresh
        if self._flights.get(key) is task:
            del self._flights[key]
            del self._waiters[key]
        if not task.cancelled():
            task.exception()  # retrieved even when every requester had gone


async def coalesced(
    flights: Coalescer | None, key: Hashable, read: Callable[[], Coroutine[Any, Any, bytes]]
) -> bytes:
    """`read()`'s answer, shared with the identical requests in flight; read alone
    without a `Coalescer`."""
    return await (flights.run(key, read) if flights is not None else read())
