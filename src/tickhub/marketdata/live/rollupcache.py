"""Stored rollups (1 m, 1 h, 1 d) kept in memory as columns, in blocks aligned on the
epoch, so that a candle or statistics read over a window that ends now reads only its
open block from the database.

A block holds every rollup of one instrument and resolution in [start, start + span):
an hour of 1 m rollups, a day of 1 h, 32 days of 1 d. A read takes the blocks it has and
fetches the missing ones (one statement per run of consecutive missing blocks), then
keeps the fetched blocks that have closed (they end at or before the start of the
current minute). Every write that changes a 1 m rollup is announced on the bus
(`CandleUpdate`, after the commit), and a write that changes an hour or a day changes a
minute of it too: the announcement drops the block of each resolution that holds that
minute. A block whose read raced such an announcement (a minute inside it announced after
the request took its reader, before the rows were kept) is not kept. Blocks also expire
after `max_age_s`, so a lost announcement (a broker reconnecting) is not kept forever,
and the whole cache holds at most `max_bytes` (least recently used first out).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from tickhub.bus import Bus, Message, Subscription
from tickhub.common.time import now_us
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE
from tickhub.marketdata.store.columns import EMPTY, CandleTable
from tickhub.marketdata.store.repository import InstrumentInfo

BLOCK_SPAN = {MINUTE: HOUR, HOUR: DAY, DAY: 32 * DAY}
"""The span of one block of each rollup resolution."""
ENTRY_OVERHEAD = 1_200
"""Bytes counted per block beside its arrays (the table, its ten arrays, the entry)."""
LOG_LENGTH = 1024
"""Announced minutes remembered per instrument: a read that began before the oldest keeps
nothing."""

Instrument = tuple[str, str]
"""(exchange, symbol), as the bus names it."""
Fetch = Callable[[int, int], Awaitable[Sequence[Any]]]
"""The stored rollup rows (`columns.RollupRow`) with lo <= start < hi, oldest first."""


@dataclass(frozen=True, slots=True)
class _Block:
    table: CandleTable
    size: int
    born: float


class RollupCache:
    """Rollup blocks for the readers it hands out (`reader`); `start`/`stop` belong to
    the web app's lifespan. Until `start` has subscribed, nothing is kept."""

    def __init__(
        self,
        bus: Bus,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        max_age_s: float = 300.0,
        now: Callable[[], int] = now_us,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._max_bytes = max_bytes
        self._max_age_s = max_age_s
        self._now = now
        self._clock = clock
        self._blocks: OrderedDict[tuple[Instrument, int, int], _Block] = OrderedDict()
        self._seq: dict[Instrument, int] = {}  # announcements so far, per instrument
        self._log: dict[Instrument, deque[tuple[int, int]]] = {}  # the latest (seq, minute)
        self._subscription: Subscription | None = None
        self.size = 0  # bytes counted
        self.hits = 0  # blocks found
        self.misses = 0  # statements run for missing blocks

    @property
    def running(self) -> bool:
        return self._subscription is not None and self._max_bytes > 0

    async def start(self) -> None:
        if self._subscription is None and self._max_bytes > 0:
            self._subscription = await self._bus.subscribe("candles.#", self.on_event, live=True)

    async def stop(self) -> None:
        sub, self._subscription = self._subscription, None
        if sub is not None:
            await sub.cancel()
        self._blocks.clear()
        self.size = 0

    def reader(self, inst: InstrumentInfo) -> RollupReader:
        """A reader of `inst`'s rollups for one request. Take it before the request's
        unit of work opens: a block is kept only when no write to a minute inside it was
        announced since."""
        key = (inst.exchange, inst.symbol)
        return RollupReader(self, key, self._seq.get(key, 0))

    def _spoiled(self, key: Instrument, ticket: int) -> list[int] | None:
        """The minutes announced since `ticket`; None when they are no longer known."""
        if self._seq.get(key, 0) == ticket:
            return []
        log = self._log[key]
        if log[0][0] > ticket + 1:
            return None
        return [minute for seq, minute in log if seq > ticket]

    def _get(self, block: tuple[Instrument, int, int]) -> CandleTable | None:
        entry = self._blocks.get(block)
        if entry is None:
            return None
        if self._clock() - entry.born > self._max_age_s:
            self._drop(block)
            return None
        self._blocks.move_to_end(block)
        self.hits += 1
        return entry.table

    def _put(self, block: tuple[Instrument, int, int], table: CandleTable) -> None:
        # a copy: a slice would keep the whole fetched array alive
        table = CandleTable(*(getattr(table, f).copy() for f in CandleTable.__slots__))
        size = ENTRY_OVERHEAD + sum(getattr(table, f).nbytes for f in CandleTable.__slots__)
        if size > self._max_bytes:
            return
        if block in self._blocks:
            self._drop(block)
        self._blocks[block] = _Block(table, size, self._clock())
        self.size += size
        while self.size > self._max_bytes:
            self._drop(next(iter(self._blocks)))

    def _drop(self, block: tuple[Instrument, int, int]) -> None:
        self.size -= self._blocks.pop(block).size

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: a changed minute drops the block of each resolution holding it."""
        if not isinstance(message, CandleUpdate):
            return
        key = (message.exchange, message.symbol)
        minute = message.start
        seq = self._seq[key] = self._seq.get(key, 0) + 1
        self._log.setdefault(key, deque(maxlen=LOG_LENGTH)).append((seq, minute))
        for resolution, span in BLOCK_SPAN.items():
            block = (key, resolution, minute - minute % span)
            if block in self._blocks:
                self._drop(block)


class RollupReader:
    """One request's reads of one instrument's rollups (`service.RollupSource`)."""

    __slots__ = ("_cache", "_key", "_ticket")

    def __init__(self, cache: RollupCache, key: Instrument, ticket: int) -> None:
        self._cache, self._key, self._ticket = cache, key, ticket

    async def read(self, resolution: int, lo: int, hi: int, fetch: Fetch) -> CandleTable:
        """The rollups of `resolution` with lo <= start < hi, oldest first, as
        `CandleTable.of_rows(await fetch(lo, hi))` would give them."""
        cache = self._cache
        if hi <= lo:
            return EMPTY
        if not cache.running:
            return CandleTable.of_rows(await fetch(lo, hi))
        span = BLOCK_SPAN[resolution]
        starts = range(lo - lo % span, hi, span)
        found = [cache._get((self._key, resolution, b)) for b in starts]
        runs: list[tuple[int, int]] = []  # [first, last] indexes of missing blocks
        for i, table in enumerate(found):
            if table is None:
                if runs and runs[-1][1] == i - 1:
                    runs[-1] = (runs[-1][0], i)
                else:
                    runs.append((i, i))
        for first, last in runs:
            a, b = starts[first], starts[last] + span
            found[first : last + 1] = await self._fetch(resolution, a, b, fetch)
        whole = CandleTable.concat([t for t in found if t is not None])
        if len(whole) and (whole.start[0] < lo or whole.start[-1] >= hi):
            whole = whole.take((whole.start >= lo) & (whole.start < hi))
        return whole

    async def _fetch(self, resolution: int, lo: int, hi: int, fetch: Fetch) -> list[CandleTable]:
        """The blocks of [lo, hi) from the database; the closed ones that no announced
        write touched since the ticket are kept."""
        cache = self._cache
        table = CandleTable.of_rows(await fetch(lo, hi))
        span = BLOCK_SPAN[resolution]
        starts = list(range(lo, hi, span))
        parts = _split(table, np.searchsorted(table.start, starts[1:]))
        cache.misses += 1
        spoiled = cache._spoiled(self._key, self._ticket)
        if spoiled is None:
            return parts
        now = cache._now()
        closed_before = now - now % MINUTE
        for b, part in zip(starts, parts, strict=True):
            if b + span <= closed_before and not any(b <= m < b + span for m in spoiled):
                cache._put((self._key, resolution, b), part)
        return parts


def _split(table: CandleTable, cuts: Any) -> list[CandleTable]:
    """`table` cut before each index of `cuts` (len(cuts) + 1 parts)."""
    if not len(table):
        return [EMPTY] * (len(cuts) + 1)
    bounds = [0, *cuts.tolist(), len(table)]
    return [table.take(slice(a, b)) if b > a else EMPTY for a, b in pairwise(bounds)]
