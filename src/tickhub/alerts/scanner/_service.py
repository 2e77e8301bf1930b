"""The scanner: on every candle close, the active strategies of each (instrument,
interval) are evaluated together and their alerts stored with a pending delivery per
channel, each candle exactly once per strategy.

Close detection is clock-driven: at minute boundary T (plus a grace for trades still in
flight) a group is due when a candle of its interval closed since the previous scan
(intervals are UTC-aligned: epoch-aligned below a day, days at UTC midnight, weeks on
Mondays); its latest closed candle is [C - I, C) with C the latest close at or before T.
A group's work is one read (marks and candles), one evaluation of every strategy on the
shared history, and one transaction that claims the candles (see `_store`) and stores the
alerts, so a crash stores neither and scanners started side by side split the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.alerts.events import AlertRaised
from tickhub.alerts.language import ConditionError
from tickhub.alerts.scanner._claims import claim, last_alerts, remember
from tickhub.alerts.scanner._engine import GroupRequest, Hit, Job, find_alerts, parsed
from tickhub.alerts.scanner._history import history
from tickhub.alerts.scanner._model import (
    US,
    Clock,
    Group,
    Outcome,
    Prepared,
    Publish,
    ScanResult,
    Sleep,
    alert_event,
    latest_close,
)
from tickhub.alerts.scanner._store import Mark, ScannerStore, ScannerUnitOfWork, StrategyRow
from tickhub.alerts.scanner._window import window_from, window_length
from tickhub.alerts.scanner._workers import EvaluationPool
from tickhub.common.clock import minute_ticks
from tickhub.marketdata import service
from tickhub.settings import ScannerSettings

log = logging.getLogger("tickhub.scanner")

PG_GROUPS_IN_FLIGHT = 4
# Groups read and evaluated one after the other, then stored in one transaction.
GROUPS_PER_COMMIT = 8


class _Stopped(Exception):
    pass


_SPELLING = re.compile(r"[^A-Z0-9]")


def _compact(symbol: str) -> str:
    return _SPELLING.sub("", symbol.upper())


class Scanner:
    """Evaluates strategies on closed candles. `scan(T)` does one minute boundary (tests
    drive it with a replayed series); `run()` does every boundary until `stop()`.
    `on_alerts` is called (on the event loop) after a scan has stored alerts."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: ScannerSettings,
        *,
        publish: Publish | None = None,
        on_alerts: Callable[[], None] | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._publish = publish
        self._on_alerts = on_alerts
        self._clock = clock
        self._sleep = sleep
        self._pool: EvaluationPool | None = None
        self._last_scan: int | None = None
        self._stopping = asyncio.Event()
        self._warned: set[tuple[int, str]] = set()
        self._order = random.Random()  # spreads work between scanners
        # The marks this scanner last claimed, by (strategy, exchange, symbol): the next
        # scan claims from them without reading them again. A mark another scanner moved
        # meanwhile fails the claim, is dropped here and is read again (see _scan_group).
        self._marks: dict[tuple[int, str, str], Mark] = {}
        # The active strategies as last read, each with its `updated_at` (see
        # _active_strategies).
        self._known: dict[int, tuple[object, StrategyRow]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._settings.workers and self._pool is None:
            self._pool = EvaluationPool(self._settings.workers)
            await self._pool.start()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.close)

    def stop(self) -> None:
        """Finish the scan in progress, then return from `run()`."""
        self._stopping.set()

    async def run(self) -> None:
        """Scan every minute boundary, `grace_s` after it, until `stop()`."""
        await self.start()
        try:
            async for tick in minute_ticks(self._clock, self._pause):
                await self._pause(self._settings.grace_s)
                try:
                    result = await self.scan(tick.epoch_s * US)
                except Exception:
                    log.exception("scan of %s failed; its candles are retried next minute",
                                  tick.at.isoformat())  # fmt: skip
                    continue
                level = logging.INFO if result.alerts or result.failed else logging.DEBUG
                log.log(level, "scan %s: %d groups, %d decisions, %d alerts in %.3f s",
                        tick.at.isoformat(), result.groups, result.decisions,
                        len(result.alerts), result.seconds)  # fmt: skip
                if self._stopping.is_set():
                    break
        except _Stopped:
            pass
        finally:
            await self.close()

    async def _pause(self, seconds: float) -> None:
        if self._stopping.is_set():
            raise _Stopped
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._stopping.is_set():
            raise _Stopped

    # -- one boundary ------------------------------------------------------------------

    async def scan(self, at_us: int) -> ScanResult:
        """Evaluate every group with a candle closed at or before `at_us` that some
        strategy has not evaluated yet; store and publish the alerts."""
        started = time.perf_counter()
        groups = await self._due_groups(at_us)
        self._last_scan = at_us if self._last_scan is None else max(self._last_scan, at_us)
        self._order.shuffle(groups)
        limit = asyncio.Semaphore(self._concurrency())
        failed = 0

        async def one(chunk: Sequence[Group]) -> list[Outcome]:
            nonlocal failed
            async with limit:
                outcomes, lost = await self._scan_chunk(chunk)
                failed += lost
                return outcomes

        chunked = [
            groups[k : k + GROUPS_PER_COMMIT] for k in range(0, len(groups), GROUPS_PER_COMMIT)
        ]
        outcomes = [o for done in await asyncio.gather(*(one(c) for c in chunked)) for o in done]
        alerts = tuple(a for o in outcomes for a in o.alerts)
        await self._announce(alerts)
        return ScanResult(
            at=at_us,
            groups=len(outcomes),
            claimed=sum(o.claimed for o in outcomes),
            decisions=sum(o.decisions for o in outcomes),
            alerts=alerts,
            failed=failed,
            seconds=time.perf_counter() - started,
        )

    def _concurrency(self) -> int:
        """Chunks of groups in flight: one per worker process plus one (loading and
        storing while the workers evaluate); on PostgreSQL at least four, so round trips
        overlap. SQLite has one writer at a time, so more would only queue on its lock."""
        workers = self._settings.workers if self._pool else 0
        if self._engine.dialect.name == "sqlite":
            return 1 + workers
        return max(PG_GROUPS_IN_FLIGHT, 1 + workers)

    async def _due_groups(self, at_us: int) -> list[Group]:
        async with ScannerUnitOfWork(self._engine) as tx:
            strategies = await self._active_strategies(tx.store)
            instruments = await service.instruments(tx.market)
        by_name: dict[tuple[str, str], Any] = {}
        for inst in instruments:
            by_name.setdefault((inst.exchange, inst.symbol), inst)
        # a bare symbol (no exchange): a live venue before the simulated one
        for inst in sorted(instruments, key=lambda i: (i.simulated, i.exchange)):
            for spelling in (_compact(inst.symbol), _compact(inst.base + inst.quote)):
                by_name.setdefault((inst.exchange, spelling), inst)
                by_name.setdefault(("", spelling), inst)
        groups: dict[tuple[int, str], Group] = {}
        for strategy in strategies:
            spec = self._interval(strategy)
            if spec is None:
                continue
            interval_us, weekly = spec
            close = latest_close(at_us, interval_us, weekly=weekly)
            if self._last_scan is not None and close <= self._last_scan:
                continue  # nothing of this interval closed since the previous scan
            for key in dict.fromkeys(strategy.instruments):
                exchange, _, symbol = key.rpartition(":")
                found = by_name.get((exchange.lower(), symbol)) or by_name.get(
                    (exchange.lower(), _compact(symbol))
                )
                if found is None:
                    continue  # no such instrument (yet): nothing to evaluate
                group = groups.get((found.id, strategy.interval))
                if group is None:
                    group = groups[(found.id, strategy.interval)] = Group(
                        found.exchange, found.symbol, found, strategy.interval, interval_us, close
                    )
                group.strategies.append(strategy)
        return list(groups.values())

    async def _active_strategies(self, store: ScannerStore) -> list[StrategyRow]:
        """The active strategies, by id. Those read at an earlier scan and not edited
        since (same `updated_at`) are not read again."""
        versions = await store.active_versions()
        changed = [sid for sid, v in versions.items() if self._known.get(sid, (None,))[0] != v]
        read = {s.id: s for s in await store.strategies(changed)} if changed else {}
        known: dict[int, tuple[object, StrategyRow]] = {}
        for sid, version in sorted(versions.items()):
            if sid in read:
                known[sid] = (version, read[sid])
            elif sid in self._known:
                known[sid] = self._known[sid]
        self._known = known
        self._marks = {k: m for k, m in self._marks.items() if k[0] in known}
        return [row for _, row in known.values()]

    def _interval(self, strategy: StrategyRow) -> tuple[int, bool] | None:
        """(length µs, weekly) of a strategy whose interval and condition are usable."""
        try:
            interval = service.interval_or_error(strategy.interval)
            parsed(strategy.condition)
        except (service.MarketDataError, ConditionError) as exc:
            self._warn(strategy, f"skipped: {exc}")
            return None
        fixed = interval.fixed_us
        if fixed is None or fixed < 60 * US or fixed % (60 * US):
            self._warn(strategy, f"skipped: interval {strategy.interval!r} is not whole minutes")
            return None
        return fixed, interval.unit == "w"

    def _warn(self, strategy: StrategyRow, message: str) -> None:
        if (strategy.id, strategy.condition + strategy.interval) not in self._warned:
            self._warned.add((strategy.id, strategy.condition + strategy.interval))
            log.warning("strategy %d (%s) %s", strategy.id, strategy.name, message)

    async def _scan_chunk(self, groups: Sequence[Group]) -> tuple[list[Outcome], int]:
        """Read and evaluate each group, then store them all in one transaction; the
        outcomes of the groups with something to claim, and how many groups failed."""
        prepared: list[Prepared] = []
        failed = 0
        for group in groups:
            try:
                ready = await self._prepare(group, group.strategies)
            except Exception:
                failed += 1
                _log_failure(group)
                continue
            if ready is not None:
                prepared.append(ready)
        if not prepared:
            return [], failed
        try:
            outcomes = await self._commit(prepared)
        except Exception:
            for ready in prepared:
                _log_failure(ready.group)
            return [], failed + len(prepared)
        for ready, outcome in zip(prepared, outcomes, strict=True):
            if not outcome.stale:
                continue
            # Marks remembered from an earlier scan that another scanner has moved since:
            # read them and try those strategies once more.
            stale = set(outcome.stale)
            group = ready.group
            try:
                again = await self._prepare(
                    group, [s for s in group.strategies if s.id in stale], cached=False
                )
                if again is not None:
                    (more,) = await self._commit([again])
                    outcome.claimed += more.claimed
                    outcome.decisions += more.decisions
                    outcome.alerts.extend(more.alerts)
            except Exception:
                failed += 1
                _log_failure(group)
        return outcomes, failed

    async def _prepare(
        self, group: Group, strategies: Sequence[StrategyRow], *, cached: bool = True
    ) -> Prepared | None:
        """Read the marks (those this scanner remembers unless not `cached`) and the
        candles, and decide the candles closed after each mark."""
        step = group.interval_us
        seed = group.close - step  # first seen: only the latest close
        async with ScannerUnitOfWork(self._engine) as tx:
            stored: dict[int, Mark] = {}
            if cached:
                for s in strategies:
                    if (mark := self._marks.get((s.id, group.exchange, group.symbol))) is not None:
                        stored[s.id] = mark
            remembered = set(stored)
            unknown = [s.id for s in strategies if s.id not in stored]
            if unknown:
                stored.update(await tx.store.marks(unknown, group.exchange, group.symbol))
            seen = {s.id: stored.get(s.id, Mark(seed, None)) for s in strategies}
            pending = [s for s in strategies if seen[s.id].evaluated_through < group.close]
            if not pending:
                return None
            windows = {
                s.id: window_length(parsed(s.condition).lookback, self._settings.history)
                for s in pending
            }
            # After a stop, at most `catch_up` intervals are caught up, and never so many
            # that the windows would not fit in one read.
            catch_up = max(1, min(self._settings.catch_up,
                                  service.MAX_CANDLES - 2 * max(windows.values())))  # fmt: skip
            floor = group.close - catch_up * step
            since = {s.id: max(seen[s.id].evaluated_through, floor) for s in pending}
            earliest = min(window_from(since[s.id], step, windows[s.id]) for s in pending)
            limit = min(service.MAX_CANDLES, -(-(group.close - earliest) // step))
            starts, series = await history(tx.market, group, limit)
        closes = starts + step
        jobs: list[Job] = []
        for s in pending:
            mark = seen[s.id]
            first = int(np.searchsorted(closes, since[s.id], side="right"))
            jobs.append(
                Job(s.condition, first, s.cooldown_s * US, mark.last_alert_close, windows[s.id])
            )
        if all(j.first >= len(closes) for j in jobs):
            return None  # no candle closed after any mark: nothing to decide or claim
        request = GroupRequest(series, closes, tuple(jobs), step)
        hits = await self._find_alerts(request)
        fresh = [s.id for s in pending if s.id not in stored]
        return Prepared(group, pending, seen, fresh, remembered, jobs, hits, request)

    async def _find_alerts(self, request: GroupRequest) -> list[Hit]:
        if self._pool is not None:
            return await self._pool.find_alerts(request)
        return find_alerts(request)

    async def _commit(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        """Claim the marks of every prepared group and store the alerts of the claimed
        strategies, in one transaction; then remember the marks as moved."""
        raised_at = datetime.fromtimestamp(self._clock(), UTC)
        latest = last_alerts(prepared)
        async with ScannerUnitOfWork(self._engine) as tx:
            claimed, alerts, stored_ids = await claim(tx.store, prepared, latest, raised_at)
            await tx.commit()
        ids = iter(stored_ids)
        return [
            remember(self._marks, p, claimed, latest, [alert_event(a, next(ids)) for a in stored])
            for p, stored in zip(prepared, alerts, strict=True)
        ]

    async def _announce(self, alerts: Sequence[AlertRaised]) -> None:
        """After commit: tell `on_alerts` (the delivery worker: new rows in the outbox)
        and publish. A bus failure loses no alert (it is stored, and its deliveries are
        in the outbox), so it is logged, not raised."""
        if alerts and self._on_alerts is not None:
            self._on_alerts()
        if self._publish is None:
            return
        for event in alerts:
            try:
                await self._publish(event.topic, event)
            except Exception:
                log.exception("alert %d stored but not published", event.alert_id)


def _log_failure(group: Group) -> None:
    log.exception("scanner: %s:%s %s failed; retried at the next scan", group.exchange,
                  group.symbol, group.interval)  # fmt: skip
