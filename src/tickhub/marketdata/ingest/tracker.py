"""The tracker: runs sources and publishes what they receive onto the bus in batches.

A source hands trades over one frame (or one REST page) at a time; the tracker gathers
them per instrument and publishes a batch when it holds `max_trades` or when
`max_delay_s` has passed, whichever comes first. Nothing is dropped: `flush` empties
every buffer (on shutdown too).

Nothing dies silently either: a source that fails is restarted with a growing backoff
(`restarts` counts it), and a status or rejected frame the bus refuses is kept and
published by the flush loop once the bus is back, so no failure reaches a source from
the tracker. What is buffered is bounded (`max_buffered` trades and events): past it
`trades` waits for the bus (back-pressure on the source, counted in
`backpressure_waits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tickhub.bus import Bus
from tickhub.marketdata.events import RejectedFrame, SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.source import Source, SourceEvent

# A source that ran this long before failing starts again from the shortest backoff.
_HEALTHY_RUN_S = 60.0

log = logging.getLogger(__name__)


@dataclass
class _Buffer:
    exchange: str
    symbol: str
    base: str
    quote: str
    simulated: bool
    trades: list[Trade] = field(default_factory=list)


class Tracker:
    def __init__(
        self,
        bus: Bus,
        *,
        max_trades: int = 2000,
        max_delay_s: float = 0.1,
        max_buffered: int = 200_000,
        restart_backoff_s: float = 1.0,
        max_restart_backoff_s: float = 60.0,
    ) -> None:
        self._bus = bus
        self._max_trades = max_trades
        self._max_delay = max_delay_s
        self._max_buffered = max(max_buffered, max_trades)
        self._backoff = restart_backoff_s
        self._max_backoff = max(max_restart_backoff_s, restart_backoff_s)
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._buffered_trades = 0  # the trades of all buffers: counted, not summed per call
        self._pending: list[SourceStatus | RejectedFrame] = []  # refused by the bus
        self._room = asyncio.Event()
        self._room.set()
        self._lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.statuses: dict[str, SourceStatus] = {}
        self.connected = asyncio.Event()  # set once any live source reports CONNECTED
        self.published = 0
        self.rejected = 0
        self.publish_failures = 0
        self.events_published = 0
        self.restarts: dict[str, int] = {}  # by source name
        self.backpressure_waits = 0
        self.bus_ok = True  # the last publish went through

    @property
    def full(self) -> bool:
        """The buffer is at its bound: sources wait."""
        return self.buffered >= self._max_buffered

    @property
    def buffered(self) -> int:
        """Trades and events held, not yet on the bus."""
        return self._buffered_trades + len(self._pending)

    async def _wait_for_room(self) -> None:
        while self.buffered >= self._max_buffered:
            self.backpressure_waits += 1
            self._room.clear()
            await self._room.wait()

    def _update_room(self) -> None:
        if self.buffered < self._max_buffered:
            self._room.set()

    # -- TradeSink ------------------------------------------------------------------

    async def trades(self, batch: TradeBatch) -> None:
        await self._wait_for_room()
        key = (batch.exchange, batch.symbol)
        buf = self._buffers.get(key)
        if buf is None:
            buf = _Buffer(batch.exchange, batch.symbol, batch.base, batch.quote, batch.simulated)
            self._buffers[key] = buf
        buf.trades.extend(batch.trades)
        self._buffered_trades += len(batch.trades)
        status = self.statuses.get(batch.exchange)
        if status is not None and batch.trades:
            newest = max(t.ts for t in batch.trades)
            if status.last_trade_ts is None or newest > status.last_trade_ts:
                self.statuses[batch.exchange] = replace(status, last_trade_ts=newest)
        if len(buf.trades) >= self._max_trades:
            try:
                await self._flush_one(buf)
            except Exception:  # kept in the buffer; the flush loop retries
                log.exception("could not publish %s:%s; will retry", buf.exchange, buf.symbol)

    async def status(self, status: SourceStatus) -> None:
        self.statuses[status.source] = status
        if status.state is SourceState.CONNECTED and status.source != "sim":
            self.connected.set()
        log.info("source %s: %s %s", status.source, status.state.value, status.detail)
        await self._publish_or_keep(status)

    async def reject(self, frame: RejectedFrame) -> None:
        self.rejected += 1
        log.warning("rejected a %s frame: %s", frame.source, frame.error)
        await self._wait_for_room()
        await self._publish_or_keep(frame)

    async def _publish_or_keep(self, event: SourceStatus | RejectedFrame) -> None:
        """Publish now, behind what is already waiting; if the bus refuses, keep it for
        the flush loop (a source never sees the bus's failure through these)."""
        if not self._pending:
            try:
                await self._bus.publish(event.topic, event)
                return
            except Exception:
                self.publish_failures += 1
                self.bus_ok = False
                log.warning("could not publish %s; kept for the next flush", event.topic)
        self._pending.append(event)

    async def publish(self, event: SourceEvent) -> None:
        """A source's other events (CoinMarketCap listings, global metrics): published at
        once, unbuffered; a failure is raised to the source."""
        await self._bus.publish(event.topic, event)
        self.events_published += 1

    # -- running sources ------------------------------------------------------------

    def start(self, sources: Sequence[Source]) -> None:
        for source in sources:
            self.add(source)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="tracker:flush")

    def add(self, source: Source) -> None:
        if source.name in self._tasks:
            return
        self._tasks[source.name] = asyncio.create_task(
            self._run(source), name=f"source:{source.name}"
        )

    @property
    def source_names(self) -> list[str]:
        return list(self._tasks)

    async def _run(self, source: Source) -> None:
        """Run the source for ever: when it fails (or returns), start it again after a
        backoff that doubles up to the maximum."""
        loop = asyncio.get_running_loop()
        backoff = self._backoff
        while True:
            started = loop.time()
            try:
                await source.run(self)
                detail = "stopped by itself"
                log.error("source %s returned; restarting in %.1f s", source.name, backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                detail = f"crashed ({type(exc).__name__}); restarting"
                log.exception("source %s failed; restarting in %.1f s", source.name, backoff)
            if loop.time() - started >= _HEALTHY_RUN_S:
                backoff = self._backoff
            await self.status(SourceStatus(source.name, SourceState.STOPPED, detail))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
            self.restarts[source.name] = self.restarts.get(source.name, 0) + 1

    async def _flush_loop(self) -> None:
        delay = self._max_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                delay = self._max_delay
            except Exception:  # the bus is down: the trades stay buffered, try again later
                self.publish_failures += 1
                delay = min(max(delay * 2, 0.5), 30.0)
                log.exception("publishing failed; retrying in %.1f s", delay)

    async def flush(self) -> None:
        """Publish the kept events (in order), then every buffer; raises if the bus
        refuses, keeping what it could not publish (`bus_ok` says how it went)."""
        try:
            await self._flush_all()
        except Exception:
            self.bus_ok = False
            raise
        self.bus_ok = True

    async def _flush_all(self) -> None:
        while self._pending:
            event = self._pending[0]
            await self._bus.publish(event.topic, event)
            self._pending.pop(0)
            self._update_room()
        for buf in list(self._buffers.values()):
            if buf.trades:
                await self._flush_one(buf)

    async def _flush_one(self, buf: _Buffer) -> None:
        async with self._lock:
            trades, buf.trades = buf.trades, []
            if not trades:
                return
            self._buffered_trades -= len(trades)
            batch = TradeBatch(
                buf.exchange, buf.symbol, tuple(trades), buf.base, buf.quote, buf.simulated
            )
            try:
                await self._bus.publish(batch.topic, batch)
            except BaseException:
                buf.trades[:0] = trades  # back in front, in order: nothing is lost
                self._buffered_trades += len(trades)
                raise
            self.published += len(trades)
            self._update_room()

    async def stop(self) -> None:
        """Stop the sources, then publish whatever is buffered."""
        tasks = [*self._tasks.values(), *([self._flusher] if self._flusher else [])]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        self._flusher = None
        await self.flush()
