"""What the in-memory caches of stored blocks share (`rollupcache`, `priceblocks`): blocks
of one instrument's stored data, aligned on minutes, kept while they are closed and no
write has touched them.

Every write that changes a 1-minute candle is announced on the bus (`CandleUpdate`,
published by the writer after its commit); a write that changes an hour or a day changes
a minute of it too. An announcement drops every block holding its minute (`keys_of`).
A read takes a `ticket` before its unit of work opens; what it fetched is kept only when
no minute inside the block was announced since (`spoiled`), so a read that raced a write
keeps nothing. Blocks also expire after `max_age_s`, so a lost announcement (a broker
reconnecting) is not kept forever, and the whole cache holds at most `max_bytes` (least
recently used first out). Until `start` has subscribed, nothing is kept (`announced`).
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tickhub.bus import Bus, Message
from tickhub.common.time import now_us
from tickhub.marketdata.events import CandleUpdate
from tickhub.marketdata.live.announced import Announced
from tickhub.marketdata.store.candles import MINUTE

LOG_LENGTH = 1024
"""Announced minutes remembered per instrument: a read that began before the oldest keeps
nothing."""

Instrument = tuple[str, str]
"""(exchange, symbol), as the bus names it."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    size: int
    born: float


class BlockCache(Announced, Generic[K, V]):
    """Blocks by key, each counted at the size `put` is given; a subclass names the keys
    an announced minute drops (`keys_of`). `start`/`stop` belong to the web app's
    lifespan."""

    def __init__(
        self,
        bus: Bus,
        *,
        max_bytes: int,
        max_age_s: float = 300.0,
        now: Callable[[], int] = now_us,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(bus, max_bytes)
        self._max_age_s = max_age_s
        self._now = now
        self._clock = clock
        self._blocks: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._seq: dict[Instrument, int] = {}  # announcements so far, per instrument
        self._log: dict[Instrument, deque[tuple[int, int]]] = {}  # the latest (seq, minute)
        self.size = 0  # bytes counted
        self.hits = 0  # blocks found
        self.misses = 0  # fetches of missing blocks (a run of them each)

    def clear(self) -> None:
        self._blocks.clear()
        self.size = 0

    @abstractmethod
    def keys_of(self, instrument: Instrument, minute: int) -> Iterable[K]:
        """The keys of the blocks that hold `minute` of `instrument`."""

    def ticket(self, instrument: Instrument) -> int:
        """Take before the read's unit of work opens; hand to `spoiled` after the fetch."""
        return self._seq.get(instrument, 0)

    def spoiled(self, instrument: Instrument, ticket: int) -> list[int] | None:
        """The minutes announced since `ticket`; None when they are no longer known."""
        if self._seq.get(instrument, 0) == ticket:
            return []
        log = self._log[instrument]
        if log[0][0] > ticket + 1:
            return None
        return [minute for seq, minute in log if seq > ticket]

    def closed_before(self) -> int:
        """The start of the current minute: a block ending at or before it is closed."""
        now = self._now()
        return now - now % MINUTE

    def get(self, key: K) -> V | None:
        return self.get_many([key])[0]

    def get_many(self, keys: Iterable[K | None]) -> list[V | None]:
        """The value kept under each key (None where there is none, or no key)."""
        blocks = self._blocks
        found: list[V | None] = []
        oldest = self._clock() - self._max_age_s
        for key in keys:
            entry = None if key is None else blocks.get(key)
            if entry is None or key is None:
                found.append(None)
            elif entry.born < oldest:
                self._drop(key)
                found.append(None)
            else:
                blocks.move_to_end(key)
                found.append(entry.value)
        self.hits += sum(v is not None for v in found)
        return found

    def put(self, key: K, value: V, size: int) -> None:
        """Keep `value`, counted as `size` bytes (nothing larger than the whole cache)."""
        if size > self._max_bytes:
            return
        if key in self._blocks:
            self._drop(key)
        self._blocks[key] = _Entry(value, size, self._clock())
        self.size += size
        while self.size > self._max_bytes:
            self._drop(next(iter(self._blocks)))

    def _drop(self, key: K) -> None:
        self.size -= self._blocks.pop(key).size

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: a changed minute drops the blocks that hold it."""
        if not isinstance(message, CandleUpdate):
            return
        instrument = (message.exchange, message.symbol)
        minute = message.start
        seq = self._seq[instrument] = self._seq.get(instrument, 0) + 1
        self._log.setdefault(instrument, deque(maxlen=LOG_LENGTH)).append((seq, minute))
        for key in self.keys_of(instrument, minute):
            if key in self._blocks:
                self._drop(key)


def missing_runs(found: Sequence[object | None]) -> list[tuple[int, int]]:
    """[first, last] indexes of each run of consecutive None in `found`: the blocks to
    fetch, one statement a run."""
    runs: list[tuple[int, int]] = []
    for i, block in enumerate(found):
        if block is None:
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
    return runs
