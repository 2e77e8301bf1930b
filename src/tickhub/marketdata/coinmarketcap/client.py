"""CoinMarketCap Pro API client: top listings and global metrics, every minute on the minute.

`CoinMarketCapClient` calls two endpoints of the Pro API with the `X-CMC_PRO_API_KEY`
header and parses them into frozen dataclasses (times in microseconds, UTC; a number that is
not finite is read as null, or refused where a number is required):

- `GET /v1/cryptocurrency/listings/latest` (start, limit, convert) → `CmcListing`s; costs
  1 credit per 200 results, rounded up.
- `GET /v1/global-metrics/quotes/latest` (convert) → `GlobalMetrics`; 1 credit.

Errors: 400/401/402/403 raise `CmcNonRetryableError` (a bad key, an unpaid or
too-small plan: retrying only burns the rate limit). 429 raises `CmcRateLimitedError`
with when to try again. 5xx and network errors are retried with exponential backoff
until the caller's deadline, then raise `CmcUnavailableError`. A body that is not the
documented shape raises `CmcMalformedError` carrying a `RejectedFrame`, kept aside.

`poller.CoinMarketCapPoller` makes both calls each minute within a daily credit budget.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tickhub.common.clock import MINUTE_S, Clock, Sleep
from tickhub.common.time import datetime_to_us
from tickhub.marketdata.events import CmcListing, RejectedFrame
from tickhub.settings import CoinMarketCapSettings

__all__ = [
    "CmcError",
    "CmcMalformedError",
    "CmcNonRetryableError",
    "CmcRateLimitedError",
    "CmcUnavailableError",
    "CoinMarketCapClient",
    "GlobalMetrics",
    "GlobalMetricsResult",
    "ListingsResult",
    "listings_credit_cost",
]

log = logging.getLogger(__name__)

SOURCE = "coinmarketcap"
LISTINGS_PATH = "/v1/cryptocurrency/listings/latest"
GLOBAL_PATH = "/v1/global-metrics/quotes/latest"
API_KEY_HEADER = "X-CMC_PRO_API_KEY"
RESULTS_PER_CREDIT = 200
GLOBAL_CREDIT_COST = 1
# status.error_code values of a 429: 1009 daily and 1010 monthly allowances are spent.
DAILY_CAP_CODE = 1009
MONTHLY_CAP_CODE = 1010


# --- errors ---
class CmcError(Exception):
    """A CoinMarketCap call failed."""

    def __init__(
        self, message: str, *, http_status: int | None = None, error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.error_code = error_code


class CmcNonRetryableError(CmcError):
    """400/401/402/403: the key, the plan or the request must be fixed first."""


class CmcRateLimitedError(CmcError):
    """429. `retry_after_s` is the server's Retry-After, or None (wait for the next
    minute; for 1009/1010, the next UTC day)."""

    def __init__(
        self, message: str, *, error_code: int | None, retry_after_s: float | None
    ) -> None:
        super().__init__(message, http_status=429, error_code=error_code)
        self.retry_after_s = retry_after_s


class CmcUnavailableError(CmcError):
    """5xx or network errors, still failing when the retry deadline came."""


class CmcMalformedError(CmcError):
    """The body is not the documented shape; `rejected` keeps it for inspection."""

    def __init__(self, message: str, rejected: RejectedFrame) -> None:
        super().__init__(message)
        self.rejected = rejected


# --- parsed responses ---
@dataclass(frozen=True, slots=True)
class GlobalMetrics:
    """`CmcGlobalMetrics` without the minute and currency, which the source adds."""

    active_cryptocurrencies: int
    btc_dominance: float
    eth_dominance: float
    total_market_cap: float | None
    total_volume_24h: float | None
    last_updated: int  # microseconds, UTC


@dataclass(frozen=True, slots=True)
class ListingsResult:
    listings: tuple[CmcListing, ...]
    credit_count: int
    timestamp: datetime  # status.timestamp, UTC


@dataclass(frozen=True, slots=True)
class GlobalMetricsResult:
    metrics: GlobalMetrics
    credit_count: int
    timestamp: datetime


def listings_credit_cost(limit: int) -> int:
    return max(1, math.ceil(limit / RESULTS_PER_CREDIT))


def _utc(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO timestamp, got {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _num(value: object) -> float | None:
    """A number, or None for null (and for NaN or an infinity, which cannot travel)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    number = float(value)
    return number if math.isfinite(number) else None


def _req_num(value: object) -> float:
    number = _num(value)
    if number is None:
        raise TypeError(f"expected a finite number, got {value!r}")
    return number


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def parse_listing(item: Mapping[str, Any], convert: str) -> CmcListing:
    quote = item["quote"][convert]
    rank = item.get("cmc_rank")
    return CmcListing(
        cmc_id=_int(item["id"]),
        symbol=_str(item["symbol"]),
        name=_str(item["name"]),
        slug=_str(item.get("slug", "")),
        rank=None if rank is None else _int(rank),
        price=_num(quote.get("price")),
        volume_24h=_num(quote.get("volume_24h")),
        market_cap=_num(quote.get("market_cap")),
        percent_change_1h=_num(quote.get("percent_change_1h")),
        percent_change_24h=_num(quote.get("percent_change_24h")),
        percent_change_7d=_num(quote.get("percent_change_7d")),
        circulating_supply=_num(item.get("circulating_supply")),
        total_supply=_num(item.get("total_supply")),
        max_supply=_num(item.get("max_supply")),
        last_updated=datetime_to_us(_utc(quote.get("last_updated") or item["last_updated"])),
    )


def parse_global(data: Mapping[str, Any], convert: str) -> GlobalMetrics:
    quote = data["quote"][convert]
    return GlobalMetrics(
        active_cryptocurrencies=_int(data["active_cryptocurrencies"]),
        btc_dominance=_req_num(data["btc_dominance"]),
        eth_dominance=_req_num(data["eth_dominance"]),
        total_market_cap=_num(quote.get("total_market_cap")),
        total_volume_24h=_num(quote.get("total_volume_24h")),
        last_updated=datetime_to_us(_utc(data.get("last_updated") or quote["last_updated"])),
    )


# --- client ---
class CoinMarketCapClient:
    """The two Pro API calls. Owns its `httpx.AsyncClient` unless one is given."""

    def __init__(
        self,
        settings: CoinMarketCapSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 8.0,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=settings.timeout_s)
        self._clock = clock
        self._sleep = sleep
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def listings(self, *, deadline: float | None = None) -> ListingsResult:
        convert = self.settings.convert
        params = {"start": "1", "limit": str(self.settings.limit), "convert": convert}
        raw, body = await self._get(LISTINGS_PATH, params, deadline)
        try:
            items = body["data"]
            if not isinstance(items, list):
                raise TypeError("data is not a list")
            listings = tuple(parse_listing(item, convert) for item in items)
            credits, stamp = self._status(body)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._malformed(LISTINGS_PATH, raw, exc) from exc
        return ListingsResult(listings=listings, credit_count=credits, timestamp=stamp)

    async def global_metrics(self, *, deadline: float | None = None) -> GlobalMetricsResult:
        convert = self.settings.convert
        raw, body = await self._get(GLOBAL_PATH, {"convert": convert}, deadline)
        try:
            metrics = parse_global(body["data"], convert)
            credits, stamp = self._status(body)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._malformed(GLOBAL_PATH, raw, exc) from exc
        return GlobalMetricsResult(metrics=metrics, credit_count=credits, timestamp=stamp)

    @staticmethod
    def _status(body: Mapping[str, Any]) -> tuple[int, datetime]:
        status = body["status"]
        return _int(status.get("credit_count", 0)), _utc(status["timestamp"])

    @staticmethod
    def _malformed(path: str, raw: str, exc: BaseException) -> CmcMalformedError:
        error = f"{path}: {type(exc).__name__}: {exc}"
        return CmcMalformedError(
            f"malformed CoinMarketCap response, {error}",
            RejectedFrame(source=SOURCE, raw=raw, error=error),
        )

    async def _get(
        self, path: str, params: dict[str, str], deadline: float | None
    ) -> tuple[str, dict[str, Any]]:
        """One call, retried on 5xx and network errors while the deadline allows."""
        if deadline is None:
            deadline = self._clock() + MINUTE_S
        url = self.settings.base_url.rstrip("/") + path
        headers = {
            API_KEY_HEADER: self.settings.api_key.get_secret_value(),
            "Accept": "application/json",
        }
        delay = self._backoff_initial_s
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.get(url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                failure = f"{path}: {type(exc).__name__}: {exc}"
                status: int | None = None
            else:
                if response.status_code < 500:
                    return self._check(path, response)
                failure = f"{path}: HTTP {response.status_code}"
                status = response.status_code
            if self._clock() + delay >= deadline:
                raise CmcUnavailableError(
                    f"CoinMarketCap unavailable after {attempt} attempts ({failure})",
                    http_status=status,
                )
            log.warning("%s; retry %d in %.1f s", failure, attempt, delay)
            await self._sleep(delay)
            delay = min(delay * 2, self._backoff_max_s)

    def _check(self, path: str, response: httpx.Response) -> tuple[str, dict[str, Any]]:
        raw = response.text
        try:
            body = json.loads(raw)
        except ValueError as exc:
            if response.status_code == 200:
                raise self._malformed(path, raw, exc) from exc
            body = {}
        if not isinstance(body, dict):
            if response.status_code == 200:
                raise self._malformed(path, raw, TypeError("body is not an object"))
            body = {}
        status = body.get("status")
        code: int | None = None
        message = ""
        if isinstance(status, dict):
            raw_code = status.get("error_code")
            code = raw_code if isinstance(raw_code, int) and raw_code != 0 else None
            message = str(status.get("error_message") or "")
        http_status = response.status_code
        if http_status == 429:
            raise CmcRateLimitedError(
                f"CoinMarketCap rate limit on {path} (error {code}): {message}",
                error_code=code,
                retry_after_s=_retry_after(response),
            )
        if http_status >= 400 or code is not None:
            raise CmcNonRetryableError(
                f"CoinMarketCap refused {path}: HTTP {http_status}, error {code}: {message} "
                "(check TICKHUB_CMC_API_KEY and the plan)",
                http_status=http_status,
                error_code=code,
            )
        return raw, body


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
