"""Binance spot trades: the combined WebSocket stream, gaps backfilled over REST.

Live trades come from `{ws_url}/stream?streams=<symbol>@trade/...`. Binance trade ids are
consecutive per symbol, so a jump in ids (after a reconnect, or against the resume point
at startup) is a gap; a background task fills it from `GET /api/v3/historicalTrades`
while the live stream goes on. Delivery is at-least-once; storage is idempotent.

The websockets library answers the server's pings (every 20 s) and sends its own
keepalive pings; a connection is replaced ahead of Binance's 24 h cut by opening the new
one before closing the old (make-before-break).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from typing import Final

import httpx
from websockets.exceptions import ConnectionClosed

from tickhub.marketdata.events import RejectedFrame, SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.binance.parse import (
    FrameError,
    Notice,
    ParsedTrade,
    parse_frame,
    parse_rest_trade,
    split_symbol,
)
from tickhub.marketdata.ingest.binance.rest import (
    HISTORICAL_TRADES_MAX_LIMIT,
    BinanceRest,
    RestError,
    backoff_delay,
)
from tickhub.marketdata.ingest.binance.ws import CONNECT_ERRORS, StreamLink, open_stream
from tickhub.marketdata.ingest.source import ResumePoints, TradeSink
from tickhub.settings import BinanceSettings

__all__ = [
    "BinanceSource",
    "FrameError",
    "Gap",
    "Notice",
    "ParsedTrade",
    "parse_frame",
    "parse_rest_trade",
    "split_symbol",
]

log = logging.getLogger(__name__)

_OVERLAP_S: Final = 5.0  # how long a replaced connection waits for its successor's first frame
_HTTP_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing trade ids `first_id..last_id` (inclusive) of one symbol."""

    symbol: str
    first_id: int
    last_id: int

    @property
    def size(self) -> int:
        return self.last_id - self.first_id + 1


class BinanceSource:
    """Binance spot trades for `symbols`; `run` returns only when cancelled.

    `resume` maps a symbol to its last stored trade id: the first live trade after a
    restart backfills from the id after it. `client` lets the caller share (or mock) the
    HTTP client; by default `run` opens its own.

    Counters, readable at any time: `trades_live` (trade frames received),
    `duplicates` (of those, ids at or below the last one seen: not delivered again),
    `trades_backfilled` (delivered from REST), `rejected` (frames or REST items that
    failed to parse), `connections` (WebSocket connections opened), `reconnects`
    (connections lost and re-opened), `gaps_found`, `last_trade_ts`; `open_gaps` lists
    ranges left missing (beyond `max_backfill_trades`, or REST could not give them).
    """

    name = "binance"
    exchange = "binance"
    simulated = False

    def __init__(
        self,
        settings: BinanceSettings,
        symbols: Sequence[str],
        *,
        resume: ResumePoints | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.symbols = tuple(dict.fromkeys(s.upper() for s in symbols))
        if not self.symbols:
            raise ValueError("BinanceSource needs at least one symbol")
        self._settings = settings
        self._client = client
        resume = resume or {}
        self._last_id = {s: resume[s] for s in self.symbols if s in resume}
        self._pairs: dict[str, tuple[str, str]] = {}
        self._backfills: set[asyncio.Task[None]] = set()
        self._links: set[StreamLink] = set()
        self._rest: BinanceRest | None = None
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
        self.open_gaps: list[Gap] = []

    @property
    def stream_url(self) -> str:
        streams = "/".join(f"{s.lower()}@trade" for s in self.symbols)
        return f"{self._settings.ws_url.rstrip('/')}/stream?streams={streams}"

    async def run(self, sink: TradeSink) -> None:
        self._sink = sink
        async with AsyncExitStack() as stack:
            client = self._client
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(timeout=_HTTP_TIMEOUT_S))
            self._rest = BinanceRest(
                client,
                self._settings.rest_url,
                weight_limit_per_minute=self._settings.weight_limit_per_minute,
                backoff_initial_s=self._settings.backoff_initial_s,
                backoff_max_s=self._settings.backoff_max_s,
                on_ban=self._on_rest_ban,
                rng=self._rng,
            )
            try:
                await self._load_pairs()
                await self._stream(sink)
            finally:
                for task in self._backfills:
                    task.cancel()
                await asyncio.gather(*self._backfills, return_exceptions=True)

    # -- instruments --------------------------------------------------------------------

    async def _load_pairs(self) -> None:
        assert self._rest is not None
        try:
            self._pairs = await self._rest.exchange_info(self.symbols)
        except RestError as exc:
            log.warning("binance exchangeInfo unavailable (%s); splitting symbols instead", exc)
        for symbol in self.symbols:
            if symbol not in self._pairs:
                pair = split_symbol(symbol)
                if pair is None:
                    log.warning("binance: base/quote of %s unknown", symbol)
                self._pairs[symbol] = pair or ("", "")

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
                log.warning("binance stream #%d lost (%s)", link.number, reason)
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
                log.warning("binance connect failed (%s); retry in %.1fs", exc, delay)
                state = SourceState.RECONNECTING
                detail = f"connect failed: {exc}; retrying in {delay:.1f}s"

    async def _replace(self, sink: TradeSink, old: StreamLink) -> StreamLink:
        """Make-before-break: open the successor while `old` reads on, then close `old`."""
        try:
            new = await self._open(sink)
        except CONNECT_ERRORS as exc:
            delay = self._backoff(0)
            log.warning("binance: replacement connection failed (%s); retry in %.1fs", exc, delay)
            old.rotate_in(delay)
            return old
        with suppress(TimeoutError):
            await asyncio.wait_for(new.first_frame.wait(), _OVERLAP_S)
        log.info("binance stream #%d replaced by #%d", old.number, new.number)
        await self._close(old)
        return new

    async def _open(self, sink: TradeSink) -> StreamLink:
        ws = await open_stream(self.stream_url, open_timeout=_HTTP_TIMEOUT_S)
        self.connections += 1
        link = StreamLink(self.connections, ws)
        self._links.add(link)
        link.reader = asyncio.create_task(self._read(link, sink), name=f"binance-ws-{link.number}")
        link.rotate_in(self._settings.reconnect_after_s)
        log.info("binance stream #%d connected: %s", link.number, self.stream_url)
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
            parsed = parse_frame(raw)
            if isinstance(parsed, ParsedTrade) and parsed.symbol not in self._pairs:
                raise FrameError(f"trade for unsubscribed symbol {parsed.symbol!r}")
        except FrameError as exc:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            await self._reject(sink, text, str(exc))
            return
        if parsed is Notice.SERVER_SHUTDOWN:
            log.info("binance stream #%d: server shutting down; replacing it", link.number)
            link.rotate.set()
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

    # -- gaps ---------------------------------------------------------------------------

    def _start_backfill(self, sink: TradeSink, gap: Gap) -> None:
        self.gaps_found += 1
        cap = max(self._settings.max_backfill_trades, 0)
        if gap.size > cap:  # fill the newest part, next to the live data
            left = Gap(gap.symbol, gap.first_id, gap.last_id - cap)
            self.open_gaps.append(left)
            log.warning(
                "binance %s: ids %d..%d stay missing (gap over max_backfill_trades=%d)",
                left.symbol,
                left.first_id,
                left.last_id,
                cap,
            )
            if cap == 0:
                return
            gap = Gap(gap.symbol, left.last_id + 1, gap.last_id)
        task = asyncio.create_task(self._backfill(sink, gap), name=f"binance-backfill-{gap}")
        self._backfills.add(task)
        task.add_done_callback(self._backfills.discard)

    async def _backfill(self, sink: TradeSink, gap: Gap) -> None:
        assert self._rest is not None
        log.info("binance %s: backfilling ids %d..%d", gap.symbol, gap.first_id, gap.last_id)
        next_id = gap.first_id
        try:
            while next_id <= gap.last_id:
                limit = min(HISTORICAL_TRADES_MAX_LIMIT, gap.last_id - next_id + 1)
                items = await self._rest.historical_trades(gap.symbol, next_id, limit)
                trades: list[Trade] = []
                for item in items:
                    try:
                        trade = parse_rest_trade(item)
                    except FrameError as exc:
                        await self._reject(sink, json.dumps(item), f"historicalTrades: {exc}")
                        continue
                    if next_id <= trade.trade_id <= gap.last_id:
                        trades.append(trade)
                if not trades:
                    raise RestError(f"no trades from id {next_id}")
                trades.sort(key=lambda t: t.trade_id)
                await self._deliver(sink, gap.symbol, tuple(trades))
                self.trades_backfilled += len(trades)
                next_id = trades[-1].trade_id + 1
        except Exception as exc:
            self.open_gaps.append(Gap(gap.symbol, next_id, gap.last_id))
            log.error(
                "binance %s: backfill stopped (%s); ids %d..%d stay missing",
                gap.symbol,
                exc,
                next_id,
                gap.last_id,
                exc_info=not isinstance(exc, RestError),
            )
            return
        log.info("binance %s: backfilled ids %d..%d", gap.symbol, gap.first_id, gap.last_id)

    # -- sink ---------------------------------------------------------------------------

    async def _deliver(self, sink: TradeSink, symbol: str, trades: tuple[Trade, ...]) -> None:
        self.last_trade_ts = max(self.last_trade_ts or 0, trades[-1].ts)
        base, quote = self._pairs[symbol]
        batch = TradeBatch(self.exchange, symbol, trades, base=base, quote=quote)
        await sink.trades(batch)

    async def _reject(self, sink: TradeSink, raw: str, error: str) -> None:
        self.rejected += 1
        log.warning("binance: rejected a message (%s)", error)
        await sink.reject(RejectedFrame(source=self.name, raw=raw, error=error))

    async def _status(self, sink: TradeSink, state: SourceState, detail: str) -> None:
        self._ws_state = state
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
