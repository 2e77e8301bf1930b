"""Stored prices kept in memory a closed minute at a time, with their items already
encoded, so that a listing over a window that rolls (the last 24 hours, asked at a
different second by each client) reads only its first and last minutes from the database
and encodes only those.

A block holds one instrument's trades of one minute as a `PricePiece`: their prices and
the text of their items in the caller's format (`form` names it: two formats never share
a block). A read takes the blocks of the minutes that lie whole inside its window, and
fetches the rest (one statement per run of consecutive missing minutes, the window's
partial first and last minutes included), then keeps each fetched minute that lies whole
inside the window and has closed (it ended at or before the start of the current
minute), a minute without trades too. Dropped by the writer's announcements, bounded in
bytes and age, not kept after a race with a write: `blockcache`.

A read never holds more than `limit` trades: past it, it stops and says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from tickhub.bus import Bus
from tickhub.marketdata.live.blockcache import BlockCache, Instrument, missing_runs
from tickhub.marketdata.store.candles import MINUTE
from tickhub.marketdata.store.repository import InstrumentInfo, PriceColumns

ENTRY_OVERHEAD = 400
"""Bytes counted per block beside its prices and text (the piece, its array, the entry)."""

Fetch = Callable[[int, int, int], Awaitable[PriceColumns]]
"""(lo, hi, limit): the stored (trade id, time, price) of the trades with lo <= time < hi
in (time, trade id) order, at most `limit`."""
Encode = Callable[[PriceColumns, Sequence[int]], list[bytes]]
"""The items of the columns as text, cut before each index given: one piece more than
indexes, each its items joined by commas (b"" for none)."""
Block = tuple[Instrument, Hashable, int]
"""(instrument, form, the minute's start)."""


@dataclass(frozen=True, slots=True)
class PricePiece:
    """Trades in order: their prices, their items' text (joined by commas), how many."""

    prices: npt.NDArray[np.float64]
    items: bytes
    n: int


class PriceBlocks(BlockCache[Block, PricePiece]):
    """Minute blocks of prices for the readers it hands out (`reader`)."""

    def __init__(self, bus: Bus, *, max_bytes: int = 64 * 1024 * 1024, **kwargs: Any) -> None:
        super().__init__(bus, max_bytes=max_bytes, **kwargs)
        self._forms: set[Hashable] = set()

    def reader(self, inst: InstrumentInfo, form: Hashable) -> PriceReader:
        """A reader of `inst`'s prices in `form` for one request. Take it before the
        unit of work that fetches opens: a block is kept only when no write to its
        minute was announced since."""
        key = (inst.exchange, inst.symbol)
        self._forms.add(form)
        return PriceReader(self, key, form, self.ticket(key))

    def keys_of(self, instrument: Instrument, minute: int) -> Iterator[Block]:
        start = minute - minute % MINUTE
        for form in self._forms:
            yield (instrument, form, start)


class PriceReader:
    """One request's reads of one instrument's prices in one form."""

    __slots__ = ("_cache", "_form", "_key", "_ticket")

    def __init__(self, cache: PriceBlocks, key: Instrument, form: Hashable, ticket: int) -> None:
        self._cache, self._key, self._form, self._ticket = cache, key, form, ticket

    async def read(
        self, lo: int, hi: int, fetch: Fetch, encode: Encode, *, limit: int
    ) -> list[PricePiece] | None:
        """The trades with lo <= time < hi, oldest first, in pieces (their prices and
        items); None when more than `limit` trades match."""
        cache = self._cache
        if hi <= lo:
            return []
        if not cache.running:
            return await self._fetch(lo, hi, [], fetch, encode, limit)
        starts = range(lo - lo % MINUTE, hi, MINUTE)
        key, form = self._key, self._form
        pieces = cache.get_many(
            (key, form, b) if lo <= b and b + MINUTE <= hi else None for b in starts
        )
        total = sum(p.n for p in pieces if p is not None)
        for first, last in missing_runs(pieces):
            a, b = max(starts[first], lo), min(starts[last] + MINUTE, hi)
            fetched = await self._fetch(
                a, b, list(starts[first + 1 : last + 1]), fetch, encode, limit - total
            )
            if fetched is None:
                return None
            total += sum(p.n for p in fetched)
            pieces[first : last + 1] = fetched
            self._keep(starts[first : last + 1], fetched, lo, hi)
        if total > limit:
            return None
        return [p for p in pieces if p is not None]

    async def _fetch(
        self, lo: int, hi: int, cuts: list[int], fetch: Fetch, encode: Encode, limit: int
    ) -> list[PricePiece] | None:
        """The trades of [lo, hi) cut before each time of `cuts`; None past `limit`."""
        if limit < 0:
            return None
        rows = await fetch(lo, hi, limit + 1)
        self._cache.misses += 1
        if len(rows) > limit:
            return None
        at = np.searchsorted(rows.times, cuts).tolist() if cuts else []
        texts = encode(rows, at)
        bounds = pairwise([0, *at, len(rows)])
        return [
            PricePiece(rows.prices[x:y], text, y - x)
            for (x, y), text in zip(bounds, texts, strict=True)
        ]

    def _keep(self, starts: range, pieces: list[PricePiece], lo: int, hi: int) -> None:
        """Keeps the pieces of whole minutes inside [lo, hi) that have closed and that no
        write announced since the ticket touched."""
        cache = self._cache
        spoiled = cache.spoiled(self._key, self._ticket)
        if spoiled is None:
            return
        touched = {m - m % MINUTE for m in spoiled}
        closed_before = cache.closed_before()
        for b, piece in zip(starts, pieces, strict=True):
            if lo <= b and b + MINUTE <= min(hi, closed_before) and b not in touched:
                # a copy: a slice would keep the whole fetched array alive
                kept = PricePiece(piece.prices.copy(), piece.items, piece.n)
                size = ENTRY_OVERHEAD + kept.prices.nbytes + len(kept.items)
                cache.put((self._key, self._form, b), kept, size)
