"""The writer: consumes trade batches and stores them idempotently, in bulk.

One transaction stores a batch, or the batches that waited for the database together
(SQLite takes one writer at a time): their instruments are locked, trades whose ids are
already covered are set aside, and only the new ones are stored, folded into the 1 m /
1 h / 1 d rollups, added to the coverage ranges and offered to the latest price, with
one statement per step for all the instruments. A replayed or duplicated trade therefore
changes nothing.

On SQLite a write may also be paced (`write_interval_s`, `TICKHUB_WRITE_INTERVAL_S`):
the next transaction starts no sooner than that after the last one began, and every
batch that arrived meanwhile goes into it. The live feed does not wait for storage (the
hub takes the tracker's batches from the bus as they come), so the tracker may publish
small batches often while the database takes a few large transactions a second: the cost
of a transaction (its statements, the commit, the candle updates it announces and the
snapshot re-reads they cause) is paid per interval, not per batch. The Python work of a
transaction of many instruments (folding their trades into candles, announcing the
candles) yields to the event loop every few milliseconds, so the live feed that shares
the loop is not held up for the whole of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.common.looplag import Slices
from tickhub.common.time import now_us
from tickhub.db import short_error, unavailable, when_reachable
from tickhub.marketdata.events import (
    CandleUpdate,
    CmcGlobalMetrics,
    CmcListings,
    CmcStored,
    RejectedFrame,
    Trade,
    TradeBatch,
)
from tickhub.marketdata.ingest.normalize import coin_name, split_symbol
from tickhub.marketdata.store import coverage
from tickhub.marketdata.store.batches import Prepared, Waiting
from tickhub.marketdata.store.candles import ROLLUPS, Candle
from tickhub.marketdata.store.coverage import Range
from tickhub.marketdata.store.repository import MarketDataWrites
from tickhub.marketdata.store.uow import MarketDataUnitOfWork

log = logging.getLogger(__name__)


Publish = Callable[[str, object], Awaitable[None]]

# On SQLite one write runs at a time and the batches that wait meanwhile go in together:
# the bus gives the writer this many consumers, so that many batches can wait; a paced
# writer gathers an interval's batches (at 1,000 trades/s in small batches, several
# hundred), so it takes more.
SQLITE_CONSUMERS = 64
SQLITE_PACED_CONSUMERS = 1024


@dataclass
class WriterStats:
    batches: int = 0
    received: int = 0
    new: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected_frames: int = 0
    cmc_listings: int = 0  # CoinMarketCap listing rows stored (new ones)
    cmc_global: int = 0  # CoinMarketCap global-metrics minutes stored (new ones)
    database_retries: int = 0
    group_splits: int = 0  # grouped batches that failed together and were written alone
    transactions: int = 0  # write transactions committed
    last_trade_ts: int | None = None


class Writer:
    """Stores trade batches. `capture_interval_s` > 0 keeps one trade per interval
    (the earliest), while candles and coverage still count every trade."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        capture_interval_s: float = 0.0,
        publish: Publish | None = None,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 5.0,
        write_interval_s: float = 0.0,
    ) -> None:
        self._engine = engine
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._capture_us = int(capture_interval_s * 1_000_000)
        self._publish = publish
        self._instrument_ids: dict[tuple[str, str], int] = {}
        self._looking_up = asyncio.Lock()
        # SQLite has one write lock per database; waiting for it here, in order, beats its
        # busy handler's sleeps. PostgreSQL writers lock only their instrument's row.
        self._serial: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self._waiting: list[Waiting] = []
        # SQLite only: a transaction starts at least this long after the last one began
        self._interval = write_interval_s if isinstance(self._serial, asyncio.Lock) else 0.0
        self._last_write = -math.inf  # the loop's time the last transaction began
        self.stats = WriterStats()

    def consumers(self, requested: int) -> int:
        """How many bus consumers to give this writer: `requested`, and on SQLite at least
        `SQLITE_CONSUMERS` (they wait for the one write at a time, then are written
        together; on PostgreSQL each writes in its own transaction)."""
        if isinstance(self._serial, asyncio.Lock):
            return max(requested, SQLITE_PACED_CONSUMERS if self._interval else SQLITE_CONSUMERS)
        return requested

    async def handle(self, _topic: str, message: object) -> None:
        """Bus handler.

        While the database is unreachable (a restart, a network cut) the message is held
        and the write retried with backoff, so a good message is never dead-lettered for
        the database's sake; anything else that fails is raised, for the bus to retry and
        then dead-letter.
        """
        if isinstance(message, TradeBatch):
            await self._until_database_answers(lambda: self.write(message))
        elif isinstance(message, RejectedFrame):
            await self._until_database_answers(lambda: self.keep_rejected(message))
        elif isinstance(message, CmcListings | CmcGlobalMetrics):
            await self._until_database_answers(lambda: self.write_cmc(message))
        else:
            raise TypeError(f"writer cannot handle {type(message).__name__}")

    async def _until_database_answers(self, work: Callable[[], Awaitable[object]]) -> None:
        def retrying(exc: BaseException, delay: float) -> None:
            self.stats.database_retries += 1
            log.warning("database unavailable (%s); retrying in %.1f s", short_error(exc), delay)

        await when_reachable(
            work, initial_s=self._retry_initial_s, max_s=self._retry_max_s, on_retry=retrying
        )

    async def keep_rejected(self, frame: RejectedFrame) -> None:
        async with MarketDataUnitOfWork(self._engine) as tx:
            await tx.writes.add_rejected(frame.source, frame.raw, frame.error, frame.received_at)
            await tx.commit()
        self.stats.rejected_frames += 1

    async def write_cmc(self, message: CmcListings | CmcGlobalMetrics) -> None:
        """Store CoinMarketCap listings or global metrics of one minute (a replay changes
        nothing), then announce them as `CmcStored` for the API's snapshot."""
        async with self._serial, MarketDataUnitOfWork(self._engine) as tx:
            repo = tx.cmc_writes
            if isinstance(message, CmcListings):
                new = await repo.add_listings(message.minute, message.convert, message.listings)
                kind = "listings"
            else:
                new = int(await repo.add_global(message))
                kind = "global"
            await tx.commit()
        if kind == "listings":
            self.stats.cmc_listings += new
        else:
            self.stats.cmc_global += new
        if self._publish is not None:
            stored = CmcStored(kind, message.minute)
            await self._publish(stored.topic, stored)

    async def instrument_id(self, batch: TradeBatch) -> int:
        key = (batch.exchange, batch.symbol)
        inst_id = self._instrument_ids.get(key)
        if inst_id is None:
            # new instruments are looked up one at a time: the batches first seen together
            # (at a start, hundreds of consumers) wait here, in order, rather than each
            # opening a transaction that SQLite would make wait (and sleep) for its lock
            async with self._looking_up:
                inst_id = self._instrument_ids.get(key)
                if inst_id is None:
                    inst_id = await self._look_up(batch)
                    self._instrument_ids[key] = inst_id
        return inst_id

    async def _look_up(self, batch: TradeBatch) -> int:
        base, quote = (batch.base, batch.quote) if batch.base else split_symbol(batch.symbol)
        async with MarketDataUnitOfWork(self._engine) as tx:
            repo = tx.writes
            ex_id = await repo.ensure_exchange(batch.exchange, simulated=batch.simulated)
            for asset in (base, quote):
                if asset:
                    await repo.ensure_asset(asset, coin_name(asset))
            inst_id = await repo.ensure_instrument(ex_id, batch.symbol, base, quote, now_us())
            await tx.commit()
        return inst_id

    async def write(self, batch: TradeBatch) -> int:
        """Store a batch; returns how many of its trades were new.

        Batches that arrive while another write holds the database (SQLite: one writer at a
        time) wait, then go in together: the next write stores every waiting batch in one
        transaction, a handful of statements for all their instruments. The work that
        needs no database (dedupe) is done before waiting.
        """
        self.stats.batches += 1
        self.stats.received += len(batch.trades)
        if not batch.trades:
            return 0
        inst_id = await self.instrument_id(batch)
        item = Waiting(batch, inst_id, coverage.unseen(batch.trades, ()))
        self._waiting.append(item)
        async with self._serial:
            if not item.done.done():
                await self._pace(item)
                group, self._waiting = self._waiting, []
                await self._write_waiting(group, item)
        return await item.done

    async def _pace(self, item: Waiting) -> None:
        """Wait out the write interval (SQLite, `write_interval_s`): the batches that come
        meanwhile go into the same transaction."""
        loop = asyncio.get_running_loop()
        pause = self._last_write + self._interval - loop.time()
        if pause > 0:
            try:
                await asyncio.sleep(pause)
            except asyncio.CancelledError:
                # this batch's handler is gone (the bus delivers it again): not written now
                with contextlib.suppress(ValueError):
                    self._waiting.remove(item)
                raise
        self._last_write = loop.time()

    async def _write_waiting(self, group: list[Waiting], item: Waiting) -> None:
        """Write `group` together; if that fails for a reason other than the database being
        unreachable, write each batch alone, so that one batch the database refuses fails
        alone and the others are stored (each failure goes to its own handler, for the bus
        to retry and then dead-letter that batch only)."""
        try:
            await self._write_group(group)
            return
        except asyncio.CancelledError:
            # the others were not cancelled: the next write takes them
            self._waiting[:0] = [w for w in group if w is not item and not w.done.done()]
            raise
        except Exception as exc:
            if len(group) == 1 or unavailable(exc):
                for w in group:
                    if not w.done.done():
                        w.done.set_exception(exc)
                return
            self.stats.group_splits += 1
            log.warning(
                "%d batches failed together (%s): writing each alone", len(group), short_error(exc)
            )
        for n, w in enumerate(group):
            if w.done.done():
                continue
            try:
                await self._write_group([w])
            except asyncio.CancelledError:
                self._waiting[:0] = [x for x in group[n:] if x is not item and not x.done.done()]
                raise
            except Exception as exc:
                if not w.done.done():
                    w.done.set_exception(exc)

    async def _write_group(self, group: list[Waiting]) -> None:
        """One transaction for the batches of `group` (any instruments); sets each one's
        count of new trades."""
        by_inst: dict[int, list[Waiting]] = {}
        for w in group:
            by_inst.setdefault(w.inst_id, []).append(w)
        candidates = {
            i: coverage.unseen([t for w in ws for t in w.trades], ()) for i, ws in by_inst.items()
        }
        stored: dict[int, Prepared] = {}
        minute_candles: dict[int, list[Candle]] = {}
        kept_total = 0
        async with MarketDataUnitOfWork(self._engine) as tx:
            repo = tx.writes
            await repo.lock_instruments(by_inst)
            near = await repo.coverage_near_many(
                {i: (ts[0].trade_id, ts[-1].trade_id) for i, ts in candidates.items()}
            )
            rows: list[tuple[object, ...]] = []
            deltas: list[tuple[int, int, Candle]] = []
            old_rows: list[int] = []
            ranges: list[tuple[int, Range]] = []
            slices = Slices()  # a group of many instruments is folded in several steps
            for i, trades in candidates.items():
                await slices.step()
                here = [r for _, r in near.get(i, [])]
                new = coverage.unseen(trades, here) if here else trades
                if not new:
                    continue
                prepared = stored[i] = Prepared.of(new)
                kept = await self._sample(repo, i, new) if self._capture_us else new
                kept_total += len(kept)
                rows.extend((i, t.trade_id, t.ts, t.price, t.qty, t.is_buyer_maker) for t in kept)
                for res, ds in zip(ROLLUPS, prepared.deltas, strict=True):
                    deltas.extend((i, res, d) for d in ds)
                old_rows.extend(row_id for row_id, _ in near.get(i, []))
                ranges.extend((i, r) for r in coverage.merge(here, new))
            if stored:  # else nothing to store: the locks go with the rollback
                await repo.insert_trade_rows(rows)
                await repo.merge_candles_many(deltas)
                await repo.replace_coverage_many(old_rows, ranges)
                await repo.upsert_latest_many([(i, p.newest) for i, p in stored.items()])
                if self._publish is not None:
                    minute_candles = await repo.minute_candles_since(
                        {i: p.deltas[0][0].start for i, p in stored.items()}
                    )
                await tx.commit()
                self.stats.transactions += 1
        self._settle(group, stored, kept_total)
        if self._publish is not None:
            slices = Slices()
            for i, candles in minute_candles.items():
                await slices.step()
                b = by_inst[i][0].batch
                for c in candles:
                    if c.start > stored[i].newest.ts:
                        continue
                    update = CandleUpdate(
                        b.exchange, b.symbol, c.start, c.open, c.high, c.low, c.close,
                        c.volume, c.quote_volume, c.trade_count,
                    )  # fmt: skip
                    await self._publish(update.topic, update)

    def _settle(self, group: list[Waiting], stored: dict[int, Prepared], kept: int) -> None:
        """Count what was stored and tell each batch how many of its trades were new (a
        trade in two batches of the group counts for the first)."""
        fresh = {i: {t.trade_id for t in p.trades} for i, p in stored.items()}
        for w in group:
            ids = fresh.get(w.inst_id, set())
            n = 0
            for t in w.trades:
                if t.trade_id in ids:
                    ids.discard(t.trade_id)
                    n += 1
            self.stats.duplicates += len(w.batch.trades) - n
            if not w.done.done():  # its handler may have been cancelled meanwhile
                w.done.set_result(n)
        self.stats.new += sum(len(p.trades) for p in stored.values())
        self.stats.stored += kept
        for p in stored.values():
            self.stats.last_trade_ts = max(self.stats.last_trade_ts or 0, p.newest.ts)

    async def _sample(self, repo: MarketDataWrites, inst_id: int, new: list[Trade]) -> list[Trade]:
        """Keep the earliest trade of each capture interval (seed 004's sampling).

        A late trade that is earlier than the one kept for its interval replaces it, so the
        result does not depend on arrival order.
        """
        step = self._capture_us
        lo = min(t.ts for t in new)
        hi = max(t.ts for t in new)
        start = lo - lo % step
        stored = await repo.stored_trades_between(inst_id, start, hi - hi % step + step)
        best: dict[int, tuple[int, int, Trade | None]] = {}
        for ts, tid in stored:
            b = ts - ts % step
            if b not in best or (ts, tid) < best[b][:2]:
                best[b] = (ts, tid, None)
        for t in new:
            b = t.ts - t.ts % step
            if b not in best or (t.ts, t.trade_id) < best[b][:2]:
                best[b] = (t.ts, t.trade_id, t)
        keep = [v[2] for v in best.values() if v[2] is not None]
        displaced = [tid for ts, tid in stored if best[ts - ts % step][2] is not None]
        await repo.delete_trades(inst_id, displaced)
        return keep
