"""Any venue ccxt supports (`TICKHUB_SOURCES=ccxt:<exchange id>`), with ccxt's rate limiter on.

Where the venue has `watch_trades` (ccxt's WebSocket methods ship inside ccxt) and
`TICKHUB_CCXT_WEBSOCKET` is on, trades are watched; after every (re)start of a watch and
between polls, `fetch_trades` picks up from the last trade taken, so what a dropped
connection missed is fetched over REST. Elsewhere `fetch_trades` is polled every
`TICKHUB_CCXT_POLL_INTERVAL_S`. Instruments come from ccxt's unified markets (base,
quote, the venue's own id); trades are stored under the ccxt exchange id and the compact
base+quote (`BTC/USD` -> `BTCUSD`). See `_cursor` for how ids and completeness work.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any, Final

import ccxt.pro as ccxt_pro
from ccxt.base.errors import BaseError, DDoSProtection, NetworkError, RateLimitExceeded

from tickhub.marketdata.events import RejectedFrame, SourceState, SourceStatus, Trade, TradeBatch
from tickhub.marketdata.ingest.ccxt._cursor import Cursor
from tickhub.marketdata.ingest.engine import FrameError, backoff_delay, retry_after_s
from tickhub.marketdata.ingest.source import ResumePoints, TradeSink
from tickhub.settings import CcxtSettings

log = logging.getLogger(__name__)

PAGE_LIMIT: Final = 1000
TRADES_CACHE: Final = 50_000


def make_exchange(exchange_id: str, urls: Mapping[str, str] | None = None) -> Any:
    """A ccxt exchange instance (no I/O): rate limiter on; `urls` replace its API URLs."""
    cls = getattr(ccxt_pro, exchange_id, None)
    if cls is None or exchange_id not in ccxt_pro.exchanges:
        near = difflib.get_close_matches(exchange_id, ccxt_pro.exchanges, n=5)
        raise ValueError(
            f"ccxt has no exchange {exchange_id!r} (near: {', '.join(near) or 'none'})"
        )
    # ccxt keeps at most `tradesLimit` watched trades between two `watch_trades` calls
    # (1,000 by default): a busy feed read slowly would lose the oldest.
    exchange = cls({"enableRateLimit": True, "options": {"tradesLimit": TRADES_CACHE}})
    if urls:
        api = exchange.urls.get("api")
        if isinstance(api, dict):
            exchange.urls["api"] = {**api, **urls}
        else:
            exchange.urls["api"] = urls.get("public", api)
    return exchange


class CcxtSource:
    """Trades of `symbols` (ccxt unified, `BTC/USD`) on ccxt exchange `exchange_id`."""

    simulated = False

    def __init__(
        self,
        settings: CcxtSettings,
        exchange_id: str,
        symbols: Sequence[str],
        *,
        resume: ResumePoints | None = None,
        exchange: Any = None,
    ) -> None:
        self.name = f"ccxt:{exchange_id}"
        self.exchange = exchange_id
        self.symbols = tuple(dict.fromkeys(s.strip() for s in symbols))
        if not self.symbols:
            raise ValueError(f"the {self.name} source needs at least one symbol")
        self._settings = settings
        self._ex = exchange if exchange is not None else make_exchange(exchange_id, settings.urls)
        self._resume = dict(resume or {})
        self._cursors: dict[str, Cursor] = {}
        self._pairs: dict[str, tuple[str, str]] = {}
        self._rng = random.Random()
        self.unknown_symbols: dict[str, list[str]] = {}
        self.ids_skipped: dict[str, int] = {}  # by symbol, where the venue has integer ids
        self.trades_live = 0
        self.trades_polled = 0
        self.rejected = 0
        self.errors = 0
        self.last_trade_ts: int | None = None

    @property
    def watching(self) -> bool:
        return self._settings.websocket and bool(self._ex.has.get("watchTrades"))

    async def run(self, sink: TradeSink) -> None:
        try:
            await self._load_markets(sink)
            symbols = [s for s in self.symbols if s in self._pairs]
            if not symbols:
                await self._status(sink, SourceState.STOPPED, self._unknown_detail())
                await asyncio.Event().wait()
            await self._status(sink, SourceState.CONNECTED, self._unknown_detail())
            tasks = [asyncio.create_task(self._follow(sink, s)) for s in symbols]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await self._ex.close()

    # -- instruments --------------------------------------------------------------------

    async def _load_markets(self, sink: TradeSink) -> None:
        attempt = 0
        while True:
            try:
                markets = await self._ex.load_markets()
                break
            except BaseError as exc:
                delay = self._backoff(attempt)
                attempt += 1
                await self._status(
                    sink,
                    SourceState.CONNECTING,
                    f"markets unavailable ({exc}); retry in {delay:.1f}s",
                )
                await asyncio.sleep(delay)
        for symbol in self.symbols:
            market = markets.get(symbol)
            if market is None:
                self.unknown_symbols[symbol] = difflib.get_close_matches(
                    symbol, list(markets), n=5, cutoff=0.5
                )
                continue
            base, quote = str(market["base"]).upper(), str(market["quote"]).upper()
            self._pairs[symbol] = (base, quote)
            cursor = Cursor()
            stored = self.stored_symbol(symbol)
            if stored in self._resume:
                cursor.last_id = self._resume[stored]
            self._cursors[symbol] = cursor
        if self.unknown_symbols:
            log.error("%s: %s", self.name, self._unknown_detail())

    def stored_symbol(self, symbol: str) -> str:
        base, quote = self._pairs[symbol]
        return "".join(ch for ch in base + quote if ch.isalnum())

    def _unknown_detail(self) -> str:
        if not self.unknown_symbols:
            return ""
        parts = [f"{s} (near: {', '.join(n) or 'none'})" for s, n in self.unknown_symbols.items()]
        return f"unknown symbols, not followed: {'; '.join(parts)}"

    # -- following one symbol -----------------------------------------------------------

    async def _follow(self, sink: TradeSink, symbol: str) -> None:
        failures = 0
        while True:
            try:
                await self._poll(sink, symbol)  # from the cursor: whatever was missed
                if self.watching:
                    while True:
                        page = await self._ex.watch_trades(symbol)
                        self.trades_live += await self._take(sink, symbol, page)
                        failures = 0
                else:
                    failures = 0
                    await asyncio.sleep(self._settings.poll_interval_s)
            except BaseError as exc:
                self.errors += 1
                delay = self._backoff(failures)
                failures += 1
                kind = "network" if isinstance(exc, NetworkError) else "exchange"
                if isinstance(exc, RateLimitExceeded | DDoSProtection):  # 429/418
                    kind = "rate limit"
                    delay = max(delay, self._retry_after())
                log.warning(
                    "%s %s: %s error (%s); retry in %.1fs", self.name, symbol, kind, exc, delay
                )
                await self._status(
                    sink, SourceState.RECONNECTING, f"{kind} error: {exc}; retry in {delay:.1f}s"
                )
                await asyncio.sleep(delay)
                await self._status(sink, SourceState.CONNECTED, self._unknown_detail())

    async def _poll(self, sink: TradeSink, symbol: str) -> None:
        """`fetch_trades` from the cursor until a page brings nothing new or is not full."""
        while True:
            cursor = self._cursors[symbol]
            page = await self._ex.fetch_trades(symbol, since=cursor.since_ms, limit=PAGE_LIMIT)
            taken = await self._take(sink, symbol, page)
            self.trades_polled += taken
            if taken == 0 or len(page) < PAGE_LIMIT:
                return

    async def _take(self, sink: TradeSink, symbol: str, page: list[dict[str, Any]]) -> int:
        cursor = self._cursors[symbol]
        good: list[dict[str, Any]] = []
        for item in page:
            try:
                cursor.check(item)
            except FrameError as exc:
                await self._reject(sink, item, str(exc))
                continue
            good.append(item)
        try:
            trades = cursor.take(good)
        except FrameError as exc:
            await self._reject(sink, good, str(exc))
            return 0
        if cursor.skipped > self.ids_skipped.get(symbol, 0):
            log.warning(
                "%s %s: %d trade ids skipped so far (not consecutive at the venue, or missed)",
                self.name,
                symbol,
                cursor.skipped,
            )
            self.ids_skipped[symbol] = cursor.skipped
        if trades:
            await self._deliver(sink, symbol, tuple(trades))
        return len(trades)

    def _retry_after(self) -> float:
        """The venue's `Retry-After` on its last answer (0 when it gave none)."""
        headers = getattr(self._ex, "last_response_headers", None) or {}
        value = next((v for k, v in dict(headers).items() if k.lower() == "retry-after"), None)
        return retry_after_s(str(value), 0.0) if value is not None else 0.0

    # -- sink ---------------------------------------------------------------------------

    async def _deliver(self, sink: TradeSink, symbol: str, trades: tuple[Trade, ...]) -> None:
        self.last_trade_ts = max(self.last_trade_ts or 0, trades[-1].ts)
        base, quote = self._pairs[symbol]
        batch = TradeBatch(self.exchange, self.stored_symbol(symbol), trades, base, quote)
        await sink.trades(batch)

    async def _reject(self, sink: TradeSink, item: object, error: str) -> None:
        self.rejected += 1
        log.warning("%s: rejected a trade (%s)", self.name, error)
        raw = json.dumps(item, default=str)
        await sink.reject(RejectedFrame(source=self.name, raw=raw, error=error))

    async def _status(self, sink: TradeSink, state: SourceState, detail: str) -> None:
        await sink.status(SourceStatus(self.name, state, detail, self.last_trade_ts))

    def _backoff(self, attempt: int) -> float:
        s = self._settings
        return backoff_delay(attempt, s.backoff_initial_s, s.backoff_max_s, self._rng)
