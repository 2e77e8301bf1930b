"""REST side of the Binance connector: request weight, 429/418/5xx handling, two endpoints.

Binance counts request weight per IP in calendar minutes and reports the running total in
`X-MBX-USED-WEIGHT-1M`. A 429 carries `Retry-After` (seconds to wait to avoid a ban); a 418
means the IP is banned, `Retry-After` says until when. 5xx and network errors are retried
with exponential backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final

import httpx

log = logging.getLogger(__name__)

USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
HISTORICAL_TRADES_PATH: Final = "/api/v3/historicalTrades"
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"
HISTORICAL_TRADES_WEIGHT: Final = 25
EXCHANGE_INFO_WEIGHT: Final = 20
HISTORICAL_TRADES_MAX_LIMIT: Final = 1000
DEFAULT_RETRY_AFTER_S: Final = 60.0

BanListener = Callable[[str | None], Awaitable[None]]
"""Called with a description when Binance bans the IP (HTTP 418), with None once it lifts."""


class RestError(Exception):
    """A REST call failed for good (a 4xx, a bad body, or retries exhausted)."""


def backoff_delay(
    attempt: int, initial: float, maximum: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: attempt 0 waits about `initial`, doubling up to `maximum`.

    The delay lies in [cap/2, cap] ("equal jitter"), so clients that failed together do
    not retry together, yet never retry at once.
    """
    cap = min(maximum, initial * 2.0 ** min(max(attempt, 0), 32))
    return cap / 2 + (rng or random).uniform(0, cap / 2)


def retry_after_s(value: str | None, default: float = DEFAULT_RETRY_AFTER_S) -> float:
    """Seconds from a `Retry-After` header (Binance sends whole seconds)."""
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if 0 <= seconds < float("inf") else default


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


class BinanceRest:
    """The few public market-data calls the connector needs, within the weight budget."""

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
        self._client = client
        self._base_url = base_url.rstrip("/")
        self.budget = WeightBudget(weight_limit_per_minute)
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._on_ban = on_ban
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._banned = False

    async def historical_trades(self, symbol: str, from_id: int, limit: int) -> list[object]:
        """`GET /api/v3/historicalTrades`: up to `limit` trades from id `from_id`, oldest first."""
        params: dict[str, str | int] = {"symbol": symbol, "fromId": from_id, "limit": limit}
        data = await self.get_json(HISTORICAL_TRADES_PATH, params, weight=HISTORICAL_TRADES_WEIGHT)
        if not isinstance(data, list):
            raise RestError(f"{HISTORICAL_TRADES_PATH}: expected a JSON array")
        return data

    async def exchange_info(self, symbols: Iterable[str]) -> dict[str, tuple[str, str]]:
        """`GET /api/v3/exchangeInfo?symbols=[...]`: (baseAsset, quoteAsset) per symbol."""
        params = {"symbols": json.dumps(list(symbols), separators=(",", ":"))}
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

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str | int],
        *,
        weight: int,
        attempts: int | None = None,
    ) -> object:
        """GET with the weight budget; retries 429/418/5xx/network errors.

        `attempts=None` retries until it succeeds (or the task is cancelled).
        """
        failures = 0
        while True:
            await self._acquire(weight)
            try:
                response = await self._client.get(self._base_url + path, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                self._observe(response)
                status = response.status_code
                if status == 200:
                    await self._ban_over()
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise RestError(f"GET {path}: invalid JSON ({exc})") from None
                if status in (418, 429):
                    await self._throttled(path, response)
                    failures += 1
                    if attempts is not None and failures >= attempts:
                        raise RestError(f"GET {path}: HTTP {status}")
                    continue  # _acquire waits out Retry-After
                if status < 500:
                    raise RestError(f"GET {path}: HTTP {status} {response.text[:200]}")
                problem = f"HTTP {status}"
            failures += 1
            if attempts is not None and failures >= attempts:
                raise RestError(f"GET {path}: {problem}")
            delay = backoff_delay(failures - 1, *self._backoff, rng=self._rng)
            log.warning("binance GET %s failed (%s); retrying in %.1fs", path, problem, delay)
            await self._sleep(delay)

    async def _acquire(self, weight: int) -> None:
        while (wait := self.budget.wait_time(weight, self._clock())) > 0:
            log.info(
                "binance request weight %d/%d used this minute; waiting %.1fs",
                self.budget.used,
                self.budget.limit,
                wait,
            )
            await self._sleep(wait)

    def _observe(self, response: httpx.Response) -> None:
        value = response.headers.get(USED_WEIGHT_HEADER)
        if value is not None and value.isdigit():
            self.budget.observe(int(value), self._clock())

    async def _throttled(self, path: str, response: httpx.Response) -> None:
        wait = retry_after_s(response.headers.get("Retry-After"))
        self.budget.block(wait, self._clock())
        if response.status_code == 429:
            log.warning("binance GET %s: HTTP 429 rate limited; waiting %gs", path, wait)
            return
        detail = f"IP banned by Binance (HTTP 418); REST paused for {wait:g}s"
        log.error("binance GET %s: %s", path, detail)
        self._banned = True
        if self._on_ban is not None:
            await self._on_ban(detail)

    async def _ban_over(self) -> None:
        if self._banned:
            self._banned = False
            log.info("binance REST ban over")
            if self._on_ban is not None:
                await self._on_ban(None)
