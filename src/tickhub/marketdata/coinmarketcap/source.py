"""The CoinMarketCap source (`coinmarketcap` in TICKHUB_SOURCES).

It runs `CoinMarketCapPoller` (both calls on every minute boundary, within the daily
credit budget) and hands what it fetches to the tracker like any other source:

- each listings call becomes one `CmcListings` event and each global-metrics call one
  `CmcGlobalMetrics` event, which the writers store as history;
- every listed coin that no configured exchange trades (its symbol is not the base of
  any of TICKHUB_SYMBOLS) gets a minute price series: each quote becomes one trade of
  exchange `coinmarketcap`, symbol `<SYMBOL><CONVERT>` (`SOLUSD`), with the quote's
  `last_updated` as time, its minute since the epoch as trade id, the price, and a size
  of 0. The writers then keep its candles, statistics and latest price as for any
  instrument. Consecutive minutes are consecutive ids, so coverage shows no false gaps,
  and a quote that did not change between two polls is the same trade, stored once.
  When several listed coins share a symbol, the best ranked one is used; symbols that
  are not plain letters and digits are left out (they cannot be a topic word).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict

from tickhub.common.clock import MINUTE_S, Clock, MinuteTick, Sleep
from tickhub.marketdata.coinmarketcap.client import (
    SOURCE,
    CmcNonRetryableError,
    CoinMarketCapClient,
    GlobalMetricsResult,
    ListingsResult,
)
from tickhub.marketdata.coinmarketcap.poller import CoinMarketCapPoller
from tickhub.marketdata.events import (
    CmcGlobalMetrics,
    CmcListing,
    CmcListings,
    SourceState,
    SourceStatus,
    Trade,
    TradeBatch,
)
from tickhub.marketdata.ingest.normalize import split_symbol
from tickhub.marketdata.ingest.source import SourceEvent, TradeSink
from tickhub.settings import CoinMarketCapSettings

__all__ = ["CoinMarketCapSource", "quote_trades"]

log = logging.getLogger(__name__)

_US = 1_000_000


def quote_trades(
    listings: Iterable[CmcListing], convert: str, traded_bases: frozenset[str]
) -> list[TradeBatch]:
    """One synthetic trade per coin that no configured exchange trades (see the module)."""
    quote = convert.upper()
    best: dict[str, CmcListing] = {}
    for item in listings:
        symbol = item.symbol.upper()
        if symbol in traded_bases or not symbol.isascii() or not symbol.isalnum():
            continue
        if item.price is None or item.price <= 0:
            continue
        held = best.get(symbol)
        if held is None or _rank_key(item) < _rank_key(held):
            best[symbol] = item
    batches = []
    for symbol, item in best.items():
        assert item.price is not None
        trade = Trade(item.last_updated // (MINUTE_S * _US), item.last_updated, item.price, 0.0)
        batches.append(TradeBatch(SOURCE, symbol + quote, (trade,), base=symbol, quote=quote))
    return batches


def _rank_key(item: CmcListing) -> tuple[bool, int, int]:
    return (item.rank is None, item.rank or 0, item.cmc_id)


class CoinMarketCapSource:
    """A `Source`: listings, global metrics and minute prices from CoinMarketCap."""

    name = SOURCE
    exchange = SOURCE
    simulated = False

    def __init__(
        self,
        settings: CoinMarketCapSettings,
        symbols: Sequence[str],
        *,
        client: CoinMarketCapClient | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.traded_bases = frozenset(split_symbol(s)[0] for s in symbols)
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._connected = False
        self.poller: CoinMarketCapPoller | None = None
        self.lost_events = 0

    async def run(self, sink: TradeSink) -> None:
        client = self._client or CoinMarketCapClient(
            self.settings, clock=self._clock, sleep=self._sleep
        )
        self._connected = False

        async def on_listings(tick: MinuteTick, result: ListingsResult) -> None:
            await self._on_listings(sink, tick, result)

        async def on_global(tick: MinuteTick, result: GlobalMetricsResult) -> None:
            await self._on_global(sink, tick, result)

        self.poller = CoinMarketCapPoller(
            self.settings,
            client,
            on_listings,
            on_global,
            clock=self._clock,
            sleep=self._sleep,
            on_reject=sink.reject,
        )
        await sink.status(
            SourceStatus(self.name, SourceState.CONNECTING, "waiting for the next minute")
        )
        try:
            await self.poller.run()
        except CmcNonRetryableError as exc:
            # A bad key or plan: polling again would only burn the rate limit.
            await sink.status(SourceStatus(self.name, SourceState.STOPPED, str(exc)[:300]))
        finally:
            if self._client is None:
                await client.aclose()

    async def _connected_once(self, sink: TradeSink) -> None:
        if not self._connected:
            self._connected = True
            await sink.status(SourceStatus(self.name, SourceState.CONNECTED, "polling"))

    async def _on_listings(self, sink: TradeSink, tick: MinuteTick, result: ListingsResult) -> None:
        await self._connected_once(sink)
        convert = self.settings.convert.upper()
        await self._publish(sink, CmcListings(tick.epoch_s * _US, convert, result.listings))
        for batch in quote_trades(result.listings, convert, self.traded_bases):
            await sink.trades(batch)

    async def _on_global(
        self, sink: TradeSink, tick: MinuteTick, result: GlobalMetricsResult
    ) -> None:
        await self._connected_once(sink)
        convert = self.settings.convert.upper()
        metrics = CmcGlobalMetrics(tick.epoch_s * _US, convert, **asdict(result.metrics))
        await self._publish(sink, metrics)

    async def _publish(self, sink: TradeSink, event: SourceEvent) -> None:
        # The bus being down costs this minute's history, not the source.
        try:
            await sink.publish(event)
        except Exception:
            self.lost_events += 1
            log.exception("could not publish %s of minute %d", event.topic, event.minute)
