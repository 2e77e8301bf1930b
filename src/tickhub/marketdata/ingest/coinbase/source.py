"""Coinbase Exchange as a declaration on the connector engine.

The public feed (`TICKHUB_COINBASE_WS_URL`) needs a subscribe message within 5 s of
connecting: the engine sends it at once, for the `matches` and `heartbeat` channels of
every product. Trade ids are consecutive per product, so a jump in `match` ids, or a
heartbeat whose `last_trade_id` is past the last trade seen, is a gap; it is filled
backwards from its newest id with `GET /products/{id}/trades?after=<id>` (newest first,
`after` pages to older trades), within the public limit of requests per second. Trades
are stored under exchange `coinbase` and the compact symbol (`BTC-USD` -> `BTCUSD`).
"""

from __future__ import annotations

import difflib
import json
import random
from collections.abc import Sequence
from typing import Final, Literal
from urllib.parse import quote

import httpx

from tickhub.marketdata.events import Trade
from tickhub.marketdata.ingest import normalize
from tickhub.marketdata.ingest.coinbase.parse import parse_frame, parse_rest_trade
from tickhub.marketdata.ingest.engine import (
    BanListener,
    Connector,
    Gap,
    Instruments,
    Parsed,
    RequestRate,
    RestClient,
    RestError,
)
from tickhub.marketdata.ingest.source import ResumePoints
from tickhub.settings import CoinbaseSettings

PRODUCTS_PATH: Final = "/products"
TRADES_PAGE_LIMIT: Final = 1000
CHANNELS: Final = ("matches", "heartbeat")


def trades_path(product: str) -> str:
    return f"/products/{quote(product, safe='')}/trades"


class CoinbaseRest(RestClient):
    """Coinbase's public REST calls, at most `requests_per_second`."""

    venue = "coinbase"
    default_retry_after_s = 1.0  # Coinbase's limits are per second

    async def products(self) -> list[object]:
        data = await self.get_json(PRODUCTS_PATH, {}, attempts=2)
        if not isinstance(data, list):
            raise RestError(f"{PRODUCTS_PATH}: expected a JSON array")
        return data

    async def trades_before_id(self, product: str, before_id: int, limit: int) -> list[object]:
        """Up to `limit` trades with ids below `before_id`, newest first (`after` cursor)."""
        params: dict[str, str | int] = {"after": before_id, "limit": limit}
        data = await self.get_json(trades_path(product), params)
        if not isinstance(data, list):
            raise RestError(f"{trades_path(product)}: expected a JSON array")
        return data


class CoinbaseVenue:
    """What the engine needs to know about Coinbase Exchange."""

    name = "coinbase"
    exchange = "coinbase"
    backfill_direction: Literal["forward", "backward"] = "backward"
    backfill_page_limit = TRADES_PAGE_LIMIT

    def __init__(self, settings: CoinbaseSettings) -> None:
        self._settings = settings

    def normalize_symbol(self, symbol: str) -> str:
        """`btc-usd`, `BTC/USD`, `BTCUSD` -> `BTC-USD` (Coinbase's product id)."""
        base, quote_asset = normalize.split_symbol(symbol)
        return f"{base}-{quote_asset}" if quote_asset else base

    def stored_symbol(self, symbol: str) -> str:
        return normalize.compact_symbol(symbol)

    def fallback_pair(self, symbol: str) -> tuple[str, str] | None:
        base, _, quote_asset = symbol.partition("-")
        return (base, quote_asset) if base and quote_asset else None

    def stream_url(self, symbols: Sequence[str]) -> str:  # noqa: ARG002
        return self._settings.ws_url

    def subscribe_messages(self, symbols: Sequence[str]) -> list[str]:
        message = {"type": "subscribe", "product_ids": list(symbols), "channels": list(CHANNELS)}
        return [json.dumps(message)]

    def parse_frame(self, raw: str | bytes) -> Parsed:
        return parse_frame(raw)

    def parse_rest_trade(self, item: object) -> Trade:
        return parse_rest_trade(item)

    def make_rest(
        self, client: httpx.AsyncClient, on_ban: BanListener, rng: random.Random
    ) -> RestClient:
        s = self._settings
        return CoinbaseRest(
            client,
            s.rest_url,
            RequestRate(s.requests_per_second),
            backoff_initial_s=s.backoff_initial_s,
            backoff_max_s=s.backoff_max_s,
            on_ban=on_ban,
            rng=rng,
        )

    async def instruments(self, rest: RestClient, symbols: Sequence[str]) -> Instruments:
        assert isinstance(rest, CoinbaseRest)
        listed: dict[str, tuple[str, str]] = {}
        for entry in await rest.products():
            if not isinstance(entry, dict):
                continue
            pid, base, quote_asset = (
                entry.get(k) for k in ("id", "base_currency", "quote_currency")
            )
            if isinstance(pid, str) and isinstance(base, str) and isinstance(quote_asset, str):
                listed[pid.upper()] = (base.upper(), quote_asset.upper())
        pairs = {s: listed[s] for s in symbols if s in listed}
        unknown = {
            s: difflib.get_close_matches(s, list(listed), n=5, cutoff=0.5)
            for s in symbols
            if s not in listed
        }
        return Instruments(pairs, unknown)

    async def backfill_page(self, rest: RestClient, gap: Gap, limit: int) -> list[object]:
        assert isinstance(rest, CoinbaseRest)
        return await rest.trades_before_id(gap.symbol, gap.last_id + 1, limit)


class CoinbaseSource(Connector):
    """Coinbase Exchange trades for `products` (`BTC-USD`); `run` returns when cancelled.

    `resume` maps a stored symbol (`BTCUSD`) to its last stored trade id: the first
    trade or heartbeat after a restart backfills from the id after it.
    """

    def __init__(
        self,
        settings: CoinbaseSettings,
        products: Sequence[str],
        *,
        resume: ResumePoints | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(CoinbaseVenue(settings), settings, products, resume=resume, client=client)
