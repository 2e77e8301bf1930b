"""REST side of the Binance connector: request weight and two endpoints.

Binance counts request weight per IP in calendar minutes and reports the running total in
`X-MBX-USED-WEIGHT-1M`. A 429 carries `Retry-After` (seconds to wait to avoid a ban); a 418
means the IP is banned, `Retry-After` says until when. The engine's `RestClient` does the
waiting and retrying; this module declares Binance's weights, budget and endpoints.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import httpx

from tickhub.marketdata.ingest.engine import (
    DEFAULT_RETRY_AFTER_S,
    BanListener,
    RestClient,
    RestError,
    backoff_delay,
    retry_after_s,
)

__all__ = [
    "DEFAULT_RETRY_AFTER_S",
    "EXCHANGE_INFO_PATH",
    "HISTORICAL_TRADES_MAX_LIMIT",
    "HISTORICAL_TRADES_PATH",
    "BanListener",
    "BinanceRest",
    "RestError",
    "WeightBudget",
    "backoff_delay",
    "retry_after_s",
]

USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
HISTORICAL_TRADES_PATH: Final = "/api/v3/historicalTrades"
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"
HISTORICAL_TRADES_WEIGHT: Final = 25
EXCHANGE_INFO_WEIGHT: Final = 20
HISTORICAL_TRADES_MAX_LIMIT: Final = 1000


class WeightBudget:
    """Request weight spent in the current calendar minute, as Binance counts it.

    Pure bookkeeping over an explicit `now` (seconds since the epoch); the caller sleeps.
    """

    def __init__(self, limit_per_minute: int) -> None:
        self.limit = limit_per_minute
        self.used = 0
        self._minute = -1
        self._blocked_until = 0.0

    def _roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.used = minute, 0

    def wait_time(self, weight: int, now: float) -> float:
        """Seconds to wait before sending a request of `weight`; 0 means go, and counts it."""
        if now < self._blocked_until:
            return self._blocked_until - now
        self._roll(now)
        if self.used and self.used + weight > self.limit:
            return (self._minute + 1) * 60.0 - now
        self.used += weight
        return 0.0

    def observe(self, used: int, now: float) -> None:
        """Take the venue's own count (it includes other clients on this IP)."""
        self._roll(now)
        self.used = max(self.used, used)

    def block(self, seconds: float, now: float) -> None:
        """Send nothing for `seconds` (after a 429 or 418)."""
        self._blocked_until = max(self._blocked_until, now + seconds)


class BinanceRest(RestClient):
    """The few public market-data calls the connector needs, within the weight budget."""

    venue = "binance"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        weight_limit_per_minute: int,
        backoff_initial_s: float,
        backoff_max_s: float,
        on_ban: BanListener | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.budget = WeightBudget(weight_limit_per_minute)
        super().__init__(
            client,
            base_url,
            self.budget,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            on_ban=on_ban,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )

    async def historical_trades(self, symbol: str, from_id: int, limit: int) -> list[object]:
        """`GET /api/v3/historicalTrades`: up to `limit` trades from id `from_id`, oldest first."""
        params: dict[str, str | int] = {"symbol": symbol, "fromId": from_id, "limit": limit}
        data = await self.get_json(HISTORICAL_TRADES_PATH, params, weight=HISTORICAL_TRADES_WEIGHT)
        if not isinstance(data, list):
            raise RestError(f"{HISTORICAL_TRADES_PATH}: expected a JSON array")
        return data

    async def exchange_info(self, symbols: Iterable[str] | None) -> dict[str, tuple[str, str]]:
        """`GET /api/v3/exchangeInfo?symbols=[...]`: (baseAsset, quoteAsset) per symbol;
        with `symbols=None`, of every symbol Binance lists."""
        params: dict[str, str | int] = {}
        if symbols is not None:
            params["symbols"] = json.dumps(list(symbols), separators=(",", ":"))
        data = await self.get_json(
            EXCHANGE_INFO_PATH, params, weight=EXCHANGE_INFO_WEIGHT, attempts=2
        )
        pairs: dict[str, tuple[str, str]] = {}
        entries = data.get("symbols") if isinstance(data, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            symbol, base, quote = (entry.get(k) for k in ("symbol", "baseAsset", "quoteAsset"))
            if isinstance(symbol, str) and isinstance(base, str) and isinstance(quote, str):
                pairs[symbol] = (base, quote)
        return pairs

    def _observe(self, response: httpx.Response) -> None:
        value = response.headers.get(USED_WEIGHT_HEADER)
        if value is not None and value.isdigit():
            self.budget.observe(int(value), self._clock())
