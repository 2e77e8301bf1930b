"""Encoded answers of the candle and statistics reads over closed windows, kept in
memory and dropped as soon as a write changes a minute inside their window.

Every write that changes a 1-minute candle is announced on the bus (`CandleUpdate`,
published by the writer after its commit); a write that changes an hour or a day
changes a minute of it too. An answer is kept only when its window ended before the
current minute, and only when no announcement for its instrument arrived while it was
being read (`generation`): a read that raced a write is not kept. Entries also expire
after `max_age_s`, so a lost announcement (a broker reconnecting) is not kept forever.
The whole cache holds at most `max_bytes` of answers (least recently used first out).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from tickhub.bus import Bus, Message
from tickhub.common.time import now_us
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.live.announced import Announced
from tickhub.marketdata.store.candles import MINUTE

log = logging.getLogger(__name__)

Instrument = tuple[str, str]
"""(exchange, symbol), as the bus names it."""


@dataclass(frozen=True, slots=True)
class _Entry:
    instrument: Instrument
    lo: int
    hi: int
    body: bytes
    born: float


class ReadCache(Announced):
    """`get`/`put` encoded answers by key; `start`/`stop` belong to the web app's
    lifespan. Until `start` has subscribed, nothing is kept."""

    def __init__(
        self,
        bus: Bus,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_s: float = 300.0,
        now: Callable[[], int] = now_us,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(bus, max_bytes)
        self._max_age_s = max_age_s
        self._now = now
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._generations: dict[Instrument, int] = {}
        self._keys: dict[Instrument, set[Hashable]] = {}
        self.size = 0  # bytes held
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._entries.clear()
        self._keys.clear()
        self.size = 0

    def generation(self, instrument: Instrument) -> int:
        """Take before reading; hand to `put` with the answer."""
        return self._generations.get(instrument, 0)

    @property
    def max_body(self) -> int:
        """The largest answer kept, in bytes: a quarter of `max_bytes`."""
        return self._max_bytes // 4

    def closed(self, hi: int) -> bool:
        """Whether an answer over a window ending at `hi` (exclusive) may be kept now:
        the cache runs and the window ended before the current minute. A streamed
        answer asks this before gathering its body."""
        now = self._now()
        return self.running and hi <= now - now % MINUTE

    def get(self, key: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry.born > self._max_age_s:
            if entry is not None:
                self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.body

    def put(
        self, key: Hashable, instrument: Instrument, lo: int, hi: int, generation: int, body: bytes
    ) -> None:
        """Keep `body`, the answer read from [lo, hi), when that window is closed (it
        ended before the current minute) and no write to the instrument was announced
        since `generation` was taken."""
        if len(body) > self.max_body or not self.closed(hi):
            return
        if self.generation(instrument) != generation:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(instrument, lo, hi, body, self._clock())
        self._keys.setdefault(instrument, set()).add(key)
        self.size += len(body)
        while self.size > self._max_bytes:
            self._drop(next(iter(self._entries)))

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: a changed minute drops the answers whose window holds it."""
        if not isinstance(message, CandleUpdate):
            return
        inst = (message.exchange, message.symbol)
        self._generations[inst] = self._generations.get(inst, 0) + 1
        minute = message.start
        stale = [
            k
            for k in self._keys.get(inst, ())
            if (e := self._entries[k]).lo < minute + MINUTE and minute < e.hi
        ]
        for k in stale:
            self._drop(k)

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key)
        self.size -= len(entry.body)
        keys = self._keys[entry.instrument]
        keys.discard(key)
        if not keys:
            del self._keys[entry.instrument]
