"""The snapshot (seed 002's "photo"): one JSON document of everything latest, served
from memory.

`SnapshotCache` runs in the API process. It listens on the bus for what the writers
announce after each commit (`candles.<exchange>.<symbol>`: trades of that instrument
stored; `stored.cmc.listings` / `stored.cmc.global`: CoinMarketCap listings or global
metrics stored) and rebuilds the document, re-reading from the database only what was
announced: the named instruments (their window candles in three queries for all of
them), the listings or the global metrics. The rest of the document is kept, encoded:
each instrument's item is encoded when it is re-read, and the body is spliced from the
encoded parts. Bursts coalesce: at most one rebuild runs, and rebuilds start at most
every `min_interval_s` (0.1 s); notifications that arrive meanwhile cause exactly one
more, which re-reads all they named. A request is answered with the encoded document in
memory and never touches the database once the cache is warm; the document it gets is
at most one rebuild (and that pause) behind the last insert the cache has heard of. On
every minute boundary the 24-hour window moves on, and every instrument is re-read (its
listings and global metrics are kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.bus import Bus, Message, Subscription
from tickhub.common.clock import Clock, Sleep, minute_ticks
from tickhub.common.time import from_us, now_us
from tickhub.marketdata.coinmarketcap import service as cmc_service
from tickhub.marketdata.coinmarketcap.schemas import GlobalMetricsOut, ListingOut, SnapshotDocument
from tickhub.marketdata.events import CandleUpdate, CmcStored
from tickhub.marketdata.schemas import SnapshotOut
from tickhub.marketdata.service import PriceIndex, Snapshot, SnapshotEntry, snapshot_window
from tickhub.marketdata.store.candles import HOUR, MINUTE, Candle, fold
from tickhub.marketdata.store.uow import MarketDataUnitOfWork

log = logging.getLogger(__name__)

PATTERNS = ("candles.#", "stored.cmc.#")


@dataclass(slots=True)
class Stale:
    """What the next rebuild must re-read."""

    everything: bool = False
    instruments: set[tuple[str, str]] = field(default_factory=set)  # (exchange, symbol)
    listings: bool = False
    global_metrics: bool = False

    def add(self, other: Stale) -> None:
        self.everything |= other.everything
        self.instruments |= other.instruments
        self.listings |= other.listings
        self.global_metrics |= other.global_metrics


@dataclass(frozen=True, slots=True)
class _Parts:
    """What the document is made of, as last read, and each part encoded once: a rebuild
    encodes only the instruments it re-read, and splices the rest in as they were."""

    start: int  # the 24-hour window [start, end)
    end: int
    entries: dict[int, SnapshotEntry]  # by instrument id, in the document's order
    items: dict[int, bytes]  # each entry encoded, by instrument id
    listings: list[ListingOut]
    global_metrics: GlobalMetricsOut | None
    tail: bytes  # `,"listings":[…],"global_metrics":…}` encoded

    def document(self, now: int) -> SnapshotDocument:
        base = SnapshotOut.of(Snapshot(now, self.start, self.end, list(self.entries.values())))
        return SnapshotDocument(
            **dict(base), listings=self.listings, global_metrics=self.global_metrics
        )

    def body(self, now: int) -> bytes:
        """`encode(self.document(now))`, from the parts encoded before."""
        head = SnapshotOut.of(Snapshot(now, self.start, self.end, [])).model_dump_json()
        return b"".join(
            (head[: -len(_EMPTY_ITEMS_END)].encode(), b",".join(self.items.values()), b"]",
             self.tail)
        )  # fmt: skip


_EMPTY_ITEMS = '"items":[]'
_EMPTY_ITEMS_END = "]}"  # the head keeps its "["


def _tail(listings: list[ListingOut], global_metrics: GlobalMetricsOut | None) -> bytes:
    """What follows the items in the encoded document."""
    text = SnapshotDocument(
        generated_at=from_us(0), window_start=from_us(0), window_end=from_us(0), items=[],
        listings=listings, global_metrics=global_metrics,
    ).model_dump_json()  # fmt: skip
    return text[text.index(_EMPTY_ITEMS) + len(_EMPTY_ITEMS) :].encode()


def _item(entry: SnapshotEntry, start: int, end: int) -> bytes:
    """One instrument's item, encoded as the document holds it."""
    return SnapshotOut.of(Snapshot(0, start, end, [entry])).items[0].model_dump_json().encode()


async def _read_parts(
    tx: MarketDataUnitOfWork, now: int, kept: _Parts | None = None, stale: Stale | None = None
) -> _Parts:
    """The parts of the document at `now`: those of `kept` that are not `stale` (and
    whose window has not moved on) are kept, the others read from the database."""
    start, end = snapshot_window(now)
    if kept is None or stale is None or stale.everything:
        kept, stale = None, Stale(everything=True)
    same_window = kept is not None and (kept.start, kept.end) == (start, end)
    keep_entries = kept.entries if kept is not None and same_window else {}
    keep_items = kept.items if kept is not None and same_window else {}
    if kept is None or stale.listings:
        listings = [ListingOut.of(s) for s in await cmc_service.latest_listings(tx)]
    else:
        listings = kept.listings
    if kept is None or stale.global_metrics:
        metrics = await cmc_service.latest_global(tx)
        global_metrics = None if metrics is None else GlobalMetricsOut.of(metrics)
    else:
        global_metrics = kept.global_metrics
    if kept is None or stale.listings or stale.global_metrics:
        tail = _tail(listings, global_metrics)
    else:
        tail = kept.tail
    entries, items = await _entries(tx, start, end, keep_entries, keep_items, stale.instruments)
    return _Parts(start, end, entries, items, listings, global_metrics, tail)


async def _entries(
    tx: MarketDataUnitOfWork,
    start: int,
    end: int,
    kept: Mapping[int, SnapshotEntry],
    kept_items: Mapping[int, bytes],
    changed: Collection[tuple[str, str]],
) -> tuple[dict[int, SnapshotEntry], dict[int, bytes]]:
    """Every instrument's latest price and its [start, end) folded into one candle, from
    the stored rollups, and each encoded. The entries of `kept` are reused unless their
    instrument is `changed`; the instruments are re-read only when one is not known."""
    repo = tx.reads
    known = {(e.instrument.exchange, e.instrument.symbol) for e in kept.values()}
    if kept and all(key in known for key in changed):
        instruments = [e.instrument for e in kept.values()]
    else:
        instruments = await repo.instruments()
    stale = [i for i in instruments if i.id not in kept or (i.exchange, i.symbol) in changed]
    if not stale:
        return {i.id: kept[i.id] for i in instruments}, {
            i.id: kept_items[i.id] for i in instruments
        }
    ids = [i.id for i in stale]
    latest = {p.instrument.id: p for p in await repo.latest(None if not kept else ids)}
    days = await _window_candles(tx, ids, start, end)
    fresh = {inst.id: SnapshotEntry(inst, latest.get(inst.id), days[inst.id]) for inst in stale}
    entries = {i.id: fresh.get(i.id) or kept[i.id] for i in instruments}
    items = {
        i.id: _item(fresh[i.id], start, end) if i.id in fresh else kept_items[i.id]
        for i in instruments
    }
    return entries, items


async def _window_candles(
    tx: MarketDataUnitOfWork, ids: list[int], start: int, end: int
) -> dict[int, Candle | None]:
    """`window_candle` of several instruments, in three queries for all of them."""
    first_hour = start + (-start) % HOUR
    last_hour = end - end % HOUR
    reads = tx.reads
    heads = await reads.candles_of(ids, MINUTE, start, first_hour)
    hours = await reads.candles_of(ids, HOUR, first_hour, last_hour)
    tails = await reads.candles_of(ids, MINUTE, last_hour, end)
    out: dict[int, Candle | None] = {}
    for i in ids:
        day = fold([*heads.get(i, ()), *hours.get(i, ()), *tails.get(i, ())], [start, end])
        out[i] = day[0] if day else None
    return out


async def build_snapshot(tx: MarketDataUnitOfWork, now: int) -> SnapshotDocument:
    """The snapshot document, read from the database."""
    return (await _read_parts(tx, now)).document(now)


def encode(document: SnapshotDocument) -> bytes:
    return document.model_dump_json().encode()


async def current_body(cache: SnapshotCache | None, engine: AsyncEngine) -> bytes:
    """The encoded document: the cache's while it runs and has one, else read now."""
    body = cache.body if cache is not None else None
    if body is None:
        async with MarketDataUnitOfWork(engine) as tx:
            body = encode(await build_snapshot(tx, now_us()))
    return body


class SnapshotCache:
    """The encoded snapshot, kept current from bus notifications. `start`/`stop`
    belong to the web app's lifespan."""

    def __init__(
        self,
        engine: AsyncEngine,
        bus: Bus,
        *,
        now: Callable[[], int] = now_us,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        retry_max_s: float = 5.0,
        min_interval_s: float = 0.1,
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._now = now
        self._clock = clock
        self._sleep = sleep
        self._retry_max_s = retry_max_s
        # rebuilds start at most this often: under a stream of inserts the notifications
        # of the pause coalesce into the next rebuild
        self._min_interval_s = min_interval_s
        self._last_rebuild = -math.inf
        self._subscriptions: list[Subscription] = []
        self._body: bytes | None = None
        self._parts: _Parts | None = None
        self._prices: PriceIndex | None = None
        self._stale = Stale(everything=True)
        self._dirty = False
        self._rebuilding: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._idle = asyncio.Condition()
        self.rebuilds = 0  # completed rebuilds
        self.failures = 0
        self.ticker_restarts = 0

    @property
    def running(self) -> bool:
        return bool(self._subscriptions)

    @property
    def prices(self) -> PriceIndex | None:
        """Every instrument's latest trade as of the last rebuild, to answer the latest-price
        routes from memory; None until the first rebuild completes."""
        return self._prices

    @property
    def body(self) -> bytes | None:
        """The encoded document, or None until the first rebuild completes."""
        return self._body

    async def start(self) -> None:
        """Subscribe, then build the first document in the background."""
        if self._subscriptions:
            return
        for pattern in PATTERNS:
            self._subscriptions.append(await self._bus.subscribe(pattern, self.on_event, live=True))
        self._ticker = asyncio.create_task(self._each_minute(), name="snapshot:minutes")
        self.invalidate()

    async def stop(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for sub in subscriptions:
            await sub.cancel()
        for task in (self._ticker, self._rebuilding):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._rebuilding = None
        self._body = None
        self._parts = None
        self._prices = None

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: never waits, so the cache keeps up with any rate of inserts."""
        if isinstance(message, CandleUpdate):
            self.invalidate(Stale(instruments={(message.exchange, message.symbol)}))
        elif isinstance(message, CmcStored) and message.kind in {"listings", "global"}:
            kind = message.kind
            self.invalidate(Stale(listings=kind == "listings", global_metrics=kind == "global"))
        else:
            self.invalidate()

    def invalidate(self, stale: Stale | None = None) -> None:
        """Something was stored (`stale`, or anything): rebuild now, or right after the
        rebuild in flight."""
        self._stale.add(Stale(everything=True) if stale is None else stale)
        self._request()

    def _request(self) -> None:
        self._dirty = True
        if self._rebuilding is None or self._rebuilding.done():
            self._rebuilding = asyncio.create_task(self._rebuild_loop(), name="snapshot:rebuild")

    async def settled(self) -> None:
        """Wait until every notification received so far is in the document."""
        async with self._idle:
            await self._idle.wait_for(lambda: not self._dirty and not self._busy())

    def _busy(self) -> bool:
        return self._rebuilding is not None and not self._rebuilding.done()

    async def _rebuild_loop(self) -> None:
        delay = 0.1
        try:
            while self._dirty:
                loop = asyncio.get_running_loop()
                pause = self._last_rebuild + self._min_interval_s - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                self._last_rebuild = loop.time()
                self._dirty = False
                stale, self._stale = self._stale, Stale()
                try:
                    now = self._now()
                    async with MarketDataUnitOfWork(self._engine) as tx:
                        parts = await _read_parts(tx, now, self._parts, stale)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database is away: keep the last document, retry
                    self.failures += 1
                    self._stale.add(stale)
                    self._dirty = True
                    log.exception("snapshot rebuild failed; retrying in %.1f s", delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, self._retry_max_s)
                    continue
                self._parts = parts
                self._body = parts.body(now)
                self._prices = PriceIndex.of(
                    (e.instrument, e.latest) for e in parts.entries.values()
                )
                self.rebuilds += 1
                delay = 0.1
        finally:
            self._rebuilding = None
            async with self._idle:
                self._idle.notify_all()

    async def _each_minute(self) -> None:
        """Rebuild at every minute boundary; if the ticking fails, it starts again after
        a growing pause (never a cache that silently stops moving on)."""
        backoff = 1.0
        while True:
            try:
                async for _tick in minute_ticks(self._clock, self._sleep):
                    self._request()  # the window moves on: every instrument is re-read
                    backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                self.ticker_restarts += 1
                log.exception("snapshot minute ticker failed; restarting in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
