"""Stored rollups (1 m, 1 h, 1 d) kept in memory as columns, in blocks aligned on the
epoch, so that a candle or statistics read over a window that ends now reads only its
open block from the database.

A block holds every rollup of one instrument and resolution in [start, start + span):
an hour of 1 m rollups, a day of 1 h, 32 days of 1 d. A read takes the blocks it has and
fetches the missing ones (one statement per run of consecutive missing blocks), then
keeps the fetched blocks that have closed (they end at or before the start of the
current minute). The writer's announcement of a changed minute drops the block of each
resolution that holds that minute, and a block whose read raced such an announcement is
not kept (`blockcache`, which also bounds the bytes and the age of what is kept).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from tickhub.bus import Bus
from tickhub.marketdata.live.blockcache import LOG_LENGTH, BlockCache, Instrument, missing_runs
from tickhub.marketdata.store.candles import DAY, HOUR, MINUTE
from tickhub.marketdata.store.columns import EMPTY, CandleTable
from tickhub.marketdata.store.repository import InstrumentInfo

__all__ = ["BLOCK_SPAN", "LOG_LENGTH", "RollupCache", "RollupReader"]

BLOCK_SPAN = {MINUTE: HOUR, HOUR: DAY, DAY: 32 * DAY}
"""The span of one block of each rollup resolution."""
ENTRY_OVERHEAD = 1_200
"""Bytes counted per block beside its arrays (the table, its ten arrays, the entry)."""

Fetch = Callable[[int, int], Awaitable[Sequence[Any]]]
"""The stored rollup rows (`columns.RollupRow`) with lo <= start < hi, oldest first."""
Block = tuple[Instrument, int, int]
"""(instrument, resolution, the block's start)."""


class RollupCache(BlockCache[Block, CandleTable]):
    """Rollup blocks for the readers it hands out (`reader`)."""

    def __init__(self, bus: Bus, *, max_bytes: int = 32 * 1024 * 1024, **kwargs: Any) -> None:
        super().__init__(bus, max_bytes=max_bytes, **kwargs)

    def reader(self, inst: InstrumentInfo) -> RollupReader:
        """A reader of `inst`'s rollups for one request. Take it before the request's
        unit of work opens: a block is kept only when no write to a minute inside it was
        announced since."""
        key = (inst.exchange, inst.symbol)
        return RollupReader(self, key, self.ticket(key))

    def keys_of(self, instrument: Instrument, minute: int) -> Iterator[Block]:
        for resolution, span in BLOCK_SPAN.items():
            yield (instrument, resolution, minute - minute % span)

    def keep(self, block: Block, table: CandleTable) -> None:
        # a copy: a slice would keep the whole fetched array alive
        table = CandleTable(*(getattr(table, f).copy() for f in CandleTable.__slots__))
        size = ENTRY_OVERHEAD + sum(getattr(table, f).nbytes for f in CandleTable.__slots__)
        self.put(block, table, size)


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
        found = [cache.get((self._key, resolution, b)) for b in starts]
        for first, last in missing_runs(found):
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
        spoiled = cache.spoiled(self._key, self._ticket)
        if spoiled is None:
            return parts
        closed_before = cache.closed_before()
        for b, part in zip(starts, parts, strict=True):
            if b + span <= closed_before and not any(b <= m < b + span for m in spoiled):
                cache.keep((self._key, resolution, b), part)
        return parts


def _split(table: CandleTable, cuts: Any) -> list[CandleTable]:
    """`table` cut before each index of `cuts` (len(cuts) + 1 parts)."""
    if not len(table):
        return [EMPTY] * (len(cuts) + 1)
    bounds = [0, *cuts.tolist(), len(table)]
    return [table.take(slice(a, b)) if b > a else EMPTY for a, b in pairwise(bounds)]
