"""Binance spot as a declaration on the connector engine.

One combined-stream connection carries every symbol's `@trade` stream (the URL
subscribes); trade ids are consecutive per symbol, so a jump is a gap, filled forward
from its first id with `GET /api/v3/historicalTrades` within the request-weight budget.
Binance cuts every connection at 24 h and announces `serverShutdown`: the engine opens
the next connection before closing the old one (make-before-break).
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Sequence
from typing import Literal

import httpx

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest.binance.parse import (
    FrameError,
    Notice,
    ParsedTrade,
    parse_frame,
    parse_rest_trade,
    split_symbol,
)
from tickhub.marketdata.ingest.binance.rest import HISTORICAL_TRADES_MAX_LIMIT, BinanceRest
from tickhub.marketdata.ingest.engine import (
    BanListener,
    Connector,
    Gap,
    Instruments,
    Parsed,
    RestClient,
    RestError,
)
from tickhub.marketdata.ingest.source import ResumePoints
from tickhub.settings import BinanceSettings

__all__ = [
    "BinanceSource",
    "BinanceVenue",
    "FrameError",
    "Gap",
    "Notice",
    "ParsedTrade",
    "parse_frame",
    "parse_rest_trade",
    "split_symbol",
]


class BinanceVenue:
    """What the engine needs to know about Binance spot."""

    name = "binance"
    exchange = "binance"
    backfill_direction: Literal["forward", "backward"] = "forward"
    backfill_page_limit = HISTORICAL_TRADES_MAX_LIMIT

    def __init__(self, settings: BinanceSettings) -> None:
        self._settings = settings

    def normalize_symbol(self, symbol: str) -> str:
        return symbol.upper()

    def stored_symbol(self, symbol: str) -> str:
        return symbol

    def fallback_pair(self, symbol: str) -> tuple[str, str] | None:
        return split_symbol(symbol)

    def stream_url(self, symbols: Sequence[str]) -> str:
        streams = "/".join(f"{s.lower()}@trade" for s in symbols)
        return f"{self._settings.ws_url.rstrip('/')}/stream?streams={streams}"

    def subscribe_messages(self, symbols: Sequence[str]) -> list[str]:  # noqa: ARG002
        return []  # the URL subscribes

    def parse_frame(self, raw: str | bytes) -> Parsed:
        return parse_frame(raw)

    def parse_rest_trade(self, item: object) -> Trade:
        return parse_rest_trade(item)

    def make_rest(
        self, client: httpx.AsyncClient, on_ban: BanListener, rng: random.Random
    ) -> RestClient:
        s = self._settings
        return BinanceRest(
            client,
            s.rest_url,
            weight_limit_per_minute=s.weight_limit_per_minute,
            backoff_initial_s=s.backoff_initial_s,
            backoff_max_s=s.backoff_max_s,
            on_ban=on_ban,
            rng=rng,
        )

    async def instruments(self, rest: RestClient, symbols: Sequence[str]) -> Instruments:
        """The configured symbols' pairs; when Binance refuses the list (HTTP 400: a symbol
        it does not know), its whole listing, to name the unknown ones and their near
        matches."""
        assert isinstance(rest, BinanceRest)
        try:
            return Instruments(await rest.exchange_info(symbols))
        except RestError as exc:
            if exc.status != 400:
                raise
        listed = await rest.exchange_info(None)
        pairs = {s: listed[s] for s in symbols if s in listed}
        unknown = {
            s: difflib.get_close_matches(s, list(listed), n=5, cutoff=0.6)
            for s in symbols
            if s not in listed
        }
        return Instruments(pairs, unknown)

    async def backfill_page(self, rest: RestClient, gap: Gap, limit: int) -> list[object]:
        assert isinstance(rest, BinanceRest)
        return await rest.historical_trades(gap.symbol, gap.first_id, limit)


class BinanceSource(Connector):
    """Binance spot trades for `symbols`; `run` returns only when cancelled.

    `resume` maps a symbol to its last stored trade id: the first live trade after a
    restart backfills from the id after it. The counters are the engine's (`Connector`).
    """

    def __init__(
        self,
        settings: BinanceSettings,
        symbols: Sequence[str],
        *,
        resume: ResumePoints | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(BinanceVenue(settings), settings, symbols, resume=resume, client=client)
