"""The connector engine: one venue's trades, gap-free where the venue's ids allow.

It runs what every streaming venue needs, and the venue (`Venue`) declares the rest:
connect and subscribe; keepalive pings (the library answers the venue's); reconnect with
backoff, and make-before-break ahead of the venue's forced cut (or when the venue says
it will shut the connection); gaps found from the venue's own ids (a trade id past the
next one, or a heartbeat's last trade id) and filled over REST by cursor within the
venue's rate limits; malformed messages counted and kept aside; status and counters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from contextlib import AsyncExitStack, suppress
from typing import Final

import httpx
from websockets.exceptions import ConnectionClosed

from tickhub.marketdata.events import RejectedFrame, SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.engine._backoff import backoff_delay
from tickhub.marketdata.ingest.engine._frames import FrameError, Gap, Heartbeat, Notice, ParsedTrade
from tickhub.marketdata.ingest.engine._link import CONNECT_ERRORS, StreamLink, open_stream
from tickhub.marketdata.ingest.engine._rest import RestClient, RestError
from tickhub.marketdata.ingest.engine._venue import ConnectorSettings, Venue
from tickhub.marketdata.ingest.source import ResumePoints, TradeSink

log = logging.getLogger(__name__)

_OVERLAP_S: Final = 5.0  # how long a replaced connection waits for its successor's first frame
HTTP_TIMEOUT_S: Final = 10.0


class Connector:
    """A venue's trades for `symbols`; `run` returns only when cancelled.

    `resume` maps a stored symbol to its last stored trade id: the first live trade (or
    heartbeat) after a restart backfills from the id after it. `client` lets the caller
    share the HTTP client; by default `run` opens its own.

    Counters, readable at any time: `trades_live` (trade frames received),
    `duplicates` (of those, ids at or below the last one seen: not delivered again),
    `trades_backfilled` (delivered from REST), `rejected` (frames or REST items that
    failed to parse), `connections` (WebSocket connections opened), `reconnects`
    (connections lost and re-opened), `gaps_found`, `heartbeats`, `last_trade_ts`;
    `open_gaps` lists ranges left missing (beyond `max_backfill_trades`, or REST could
    not give them); `unknown_symbols` the configured symbols the venue does not list.
    """

    simulated = False

    def __init__(
        self,
        venue: Venue,
        settings: ConnectorSettings,
        symbols: Sequence[str],
        *,
        resume: ResumePoints | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.venue = venue
        self.name = venue.name
        self.exchange = venue.exchange
        self.symbols = tuple(dict.fromkeys(venue.normalize_symbol(s) for s in symbols))
        if not self.symbols:
            raise ValueError(f"the {venue.name} source needs at least one symbol")
        self._settings = settings
        self._client = client
        resume = resume or {}
        self._last_id: dict[str, int] = {}
        for s in self.symbols:
            stored = venue.stored_symbol(s)
            if stored in resume:
                self._last_id[s] = resume[stored]
        self._pairs: dict[str, tuple[str, str]] = {}
        self._backfills: set[asyncio.Task[None]] = set()
        self._links: set[StreamLink] = set()
        self._rest: RestClient | None = None
        self._sink: TradeSink | None = None
        self._ws_state = SourceState.CONNECTING
        self._rng = random.Random()
        self.last_trade_ts: int | None = None
        self.trades_live = 0
        self.trades_backfilled = 0
        self.duplicates = 0
        self.rejected = 0
        self.connections = 0
        self.reconnects = 0
        self.gaps_found = 0
        self.heartbeats = 0
        self.open_gaps: list[Gap] = []
        self.unknown_symbols: dict[str, list[str]] = {}

    @property
    def stream_url(self) -> str:
        return self.venue.stream_url(self.subscribed)

    @property
    def subscribed(self) -> tuple[str, ...]:
        """The symbols streamed: the configured ones less those the venue does not list."""
        return tuple(s for s in self.symbols if s not in self.unknown_symbols)

    async def run(self, sink: TradeSink) -> None:
        self._sink = sink
        async with AsyncExitStack() as stack:
            client = self._client
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=HTTP_TIMEOUT_S))
            self._rest = self.venue.make_rest(client, self._on_rest_ban, self._rng)
            try:
                await self._load_pairs()
                if not self.subscribed:
                    await self._status(sink, SourceState.STOPPED, self._unknown_detail())
                    await asyncio.Event().wait()  # nothing to stream; wait to be cancelled
                await self._stream(sink)
            finally:
                for task in self._backfills:
                    task.cancel()
                await asyncio.gather(*self._backfills, return_exceptions=True)

    # -- instruments --------------------------------------------------------------------

    async def _load_pairs(self) -> None:
        assert self._rest is not None
        try:
            known = await self.venue.instruments(self._rest, self.symbols)
        except RestError as exc:
            log.warning("%s instruments unavailable (%s); splitting symbols", self.name, exc)
        else:
            self._pairs = dict(known.pairs)
            self.unknown_symbols = dict(known.unknown)
        for symbol in self.symbols:
            if symbol not in self._pairs and symbol not in self.unknown_symbols:
                pair = self.venue.fallback_pair(symbol)
                if pair is None:
                    log.warning("%s: base/quote of %s unknown", self.name, symbol)
                self._pairs[symbol] = pair or ("", "")
        if self.unknown_symbols:
            log.error("%s: %s", self.name, self._unknown_detail())

    def _unknown_detail(self) -> str:
        parts = [
            f"{symbol} (near: {', '.join(near) or 'none'})"
            for symbol, near in self.unknown_symbols.items()
        ]
        return f"unknown symbols, not subscribed: {'; '.join(parts)}"

    # -- WebSocket ----------------------------------------------------------------------

    async def _stream(self, sink: TradeSink) -> None:
        try:
            link = await self._connect(sink, SourceState.CONNECTING, "")
            drops = 0
            while True:
                reason = await self._wait_drop_or_rotate(link)
                if reason is None:
                    link = await self._replace(sink, link)
                    continue
                await self._close(link)
                self.reconnects += 1
                drops = 0 if link.frames else drops + 1
                delay = self._backoff(drops)
                log.warning("%s stream #%d lost (%s)", self.name, link.number, reason)
                detail = f"{reason}; reconnecting in {delay:.1f}s"
                link = await self._connect(sink, SourceState.RECONNECTING, detail, delay)
        finally:
            for open_link in list(self._links):
                await self._close(open_link, stop_reader=True)

    async def _connect(
        self, sink: TradeSink, state: SourceState, detail: str, delay: float = 0.0
    ) -> StreamLink:
        attempt = 0
        while True:
            await self._status(sink, state, detail)
            await asyncio.sleep(delay)
            try:
                return await self._open(sink)
            except CONNECT_ERRORS as exc:
                delay = self._backoff(attempt)
                attempt += 1
                log.warning("%s connect failed (%s); retry in %.1fs", self.name, exc, delay)
                state = SourceState.RECONNECTING
                detail = f"connect failed: {exc}; retrying in {delay:.1f}s"

    async def _replace(self, sink: TradeSink, old: StreamLink) -> StreamLink:
        """Make-before-break: open the successor while `old` reads on, then close `old`."""
        try:
            new = await self._open(sink)
        except CONNECT_ERRORS as exc:
            delay = self._backoff(0)
            log.warning(
                "%s: replacement connection failed (%s); retry in %.1fs", self.name, exc, delay
            )
            old.rotate_in(delay)
            return old
        with suppress(TimeoutError):
            await asyncio.wait_for(new.first_frame.wait(), _OVERLAP_S)
        log.info("%s stream #%d replaced by #%d", self.name, old.number, new.number)
        await self._close(old)
        return new

    async def _open(self, sink: TradeSink) -> StreamLink:
        ws = await open_stream(self.stream_url, open_timeout=HTTP_TIMEOUT_S)
        try:
            for message in self.venue.subscribe_messages(self.subscribed):
                await ws.send(message)
        except ConnectionClosed as exc:
            await ws.close()
            raise OSError(f"connection closed while subscribing: {exc}") from None
        self.connections += 1
        link = StreamLink(self.connections, ws)
        self._links.add(link)
        link.reader = asyncio.create_task(
            self._read(link, sink), name=f"{self.name}-ws-{link.number}"
        )
        link.rotate_in(self._settings.reconnect_after_s)
        log.info("%s stream #%d connected: %s", self.name, link.number, self.stream_url)
        await self._status(sink, SourceState.CONNECTED, "")
        return link

    async def _close(self, link: StreamLink, *, stop_reader: bool = False) -> None:
        self._links.discard(link)
        await link.close(stop_reader=stop_reader)

    async def _wait_drop_or_rotate(self, link: StreamLink) -> str | None:
        """The reason the link dropped, or None when it is time to replace it."""
        assert link.reader is not None
        rotate = asyncio.create_task(link.rotate.wait())
        try:
            await asyncio.wait({link.reader, rotate}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            rotate.cancel()
        return link.reader.result() if link.reader.done() else None

    async def _read(self, link: StreamLink, sink: TradeSink) -> str:
        while True:
            try:
                raw = await link.ws.recv()
            except ConnectionClosed as exc:
                return f"connection closed: {exc}"
            link.frames += 1
            link.first_frame.set()
            await self._on_frame(link, raw, sink)

    async def _on_frame(self, link: StreamLink, raw: str | bytes, sink: TradeSink) -> None:
        try:
            parsed = self.venue.parse_frame(raw)
            if isinstance(parsed, ParsedTrade | Heartbeat) and parsed.symbol not in self._pairs:
                raise FrameError(f"message for unsubscribed symbol {parsed.symbol!r}")
        except FrameError as exc:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            await self._reject(sink, text, str(exc))
            return
        if parsed is Notice.SERVER_SHUTDOWN:
            log.info("%s stream #%d: server shutting down; replacing it", self.name, link.number)
            link.rotate.set()
        elif isinstance(parsed, Heartbeat):
            self._on_heartbeat(sink, parsed)
        elif parsed is not None:
            await self._on_live_trade(sink, parsed.symbol, parsed.trade)

    async def _on_live_trade(self, sink: TradeSink, symbol: str, trade: Trade) -> None:
        self.trades_live += 1
        last = self._last_id.get(symbol)
        if last is not None and trade.trade_id <= last:
            self.duplicates += 1  # seen already, or inside a gap being backfilled
            return
        self._last_id[symbol] = trade.trade_id
        if last is not None and trade.trade_id > last + 1:
            self._start_backfill(sink, Gap(symbol, last + 1, trade.trade_id - 1))
        await self._deliver(sink, symbol, (trade,))

    def _on_heartbeat(self, sink: TradeSink, beat: Heartbeat) -> None:
        """Ids up to the heartbeat's exist: those past the last one seen were missed."""
        self.heartbeats += 1
        last = self._last_id.get(beat.symbol)
        if last is None or beat.last_trade_id <= last:
            return  # nothing to compare with yet, or nothing missed (0 means "not said")
        self._last_id[beat.symbol] = beat.last_trade_id
        self._start_backfill(sink, Gap(beat.symbol, last + 1, beat.last_trade_id))

    # -- gaps ---------------------------------------------------------------------------

    def _start_backfill(self, sink: TradeSink, gap: Gap) -> None:
        self.gaps_found += 1
        cap = max(self._settings.max_backfill_trades, 0)
        if gap.size > cap:  # fill the newest part, next to the live data
            left = Gap(gap.symbol, gap.first_id, gap.last_id - cap)
            self.open_gaps.append(left)
            log.warning(
                "%s %s: ids %d..%d stay missing (gap over max_backfill_trades=%d)",
                self.name,
                left.symbol,
                left.first_id,
                left.last_id,
                cap,
            )
            if cap == 0:
                return
            gap = Gap(gap.symbol, left.last_id + 1, gap.last_id)
        task = asyncio.create_task(self._backfill(sink, gap), name=f"{self.name}-backfill-{gap}")
        self._backfills.add(task)
        task.add_done_callback(self._backfills.discard)

    async def _backfill(self, sink: TradeSink, gap: Gap) -> None:
        assert self._rest is not None
        venue = self.venue
        log.info("%s %s: backfilling ids %d..%d", self.name, gap.symbol, gap.first_id, gap.last_id)
        left = gap
        try:
            while left.size > 0:
                limit = min(venue.backfill_page_limit, left.size)
                items = await venue.backfill_page(self._rest, left, limit)
                trades: list[Trade] = []
                for item in items:
                    try:
                        trade = venue.parse_rest_trade(item)
                    except FrameError as exc:
                        await self._reject(sink, json.dumps(item), f"REST trade: {exc}")
                        continue
                    if left.first_id <= trade.trade_id <= left.last_id:
                        trades.append(trade)
                if not trades:
                    raise RestError(f"no trades in ids {left.first_id}..{left.last_id}")
                trades.sort(key=lambda t: t.trade_id)
                await self._deliver(sink, gap.symbol, tuple(trades))
                self.trades_backfilled += len(trades)
                if venue.backfill_direction == "forward":
                    left = Gap(gap.symbol, trades[-1].trade_id + 1, left.last_id)
                else:
                    left = Gap(gap.symbol, left.first_id, trades[0].trade_id - 1)
        except Exception as exc:
            self.open_gaps.append(left)
            log.error(
                "%s %s: backfill stopped (%s); ids %d..%d stay missing",
                self.name,
                gap.symbol,
                exc,
                left.first_id,
                left.last_id,
                exc_info=not isinstance(exc, RestError),
            )
            return
        log.info("%s %s: backfilled ids %d..%d", self.name, gap.symbol, gap.first_id, gap.last_id)

    # -- sink ---------------------------------------------------------------------------

    async def _deliver(self, sink: TradeSink, symbol: str, trades: tuple[Trade, ...]) -> None:
        self.last_trade_ts = max(self.last_trade_ts or 0, trades[-1].ts)
        base, quote = self._pairs[symbol]
        stored = self.venue.stored_symbol(symbol)
        await sink.trades(TradeBatch(self.exchange, stored, trades, base=base, quote=quote))

    async def _reject(self, sink: TradeSink, raw: str, error: str) -> None:
        self.rejected += 1
        log.warning("%s: rejected a message (%s)", self.name, error)
        await sink.reject(RejectedFrame(source=self.name, raw=raw, error=error))

    async def _status(self, sink: TradeSink, state: SourceState, detail: str) -> None:
        self._ws_state = state
        if not detail and self.unknown_symbols:
            detail = self._unknown_detail()  # stays visible while the source runs
        await sink.status(
            SourceStatus(self.name, state, detail=detail, last_trade_ts=self.last_trade_ts)
        )

    async def _on_rest_ban(self, detail: str | None) -> None:
        if self._sink is None:
            return
        if detail is None:
            await self._status(self._sink, self._ws_state, "REST ban over")
            return
        await self._sink.status(
            SourceStatus(self.name, SourceState.OFFLINE, detail, self.last_trade_ts)
        )

    def _backoff(self, attempt: int) -> float:
        s = self._settings
        return backoff_delay(attempt, s.backoff_initial_s, s.backoff_max_s, self._rng)
