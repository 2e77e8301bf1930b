"""A venue's REST side: a request budget, 429/418 with `Retry-After`, 5xx and network retries.

A 429 carries `Retry-After` (seconds to wait); a 418 (Binance) means the IP is banned
until then: nothing is sent before it passes, and the source reports itself offline.
5xx and network errors are retried with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import httpx

from tickhub.marketdata.ingest.engine._backoff import (
    DEFAULT_RETRY_AFTER_S,
    backoff_delay,
    retry_after_s,
)

log = logging.getLogger(__name__)

BanListener = Callable[[str | None], Awaitable[None]]
"""Called with a description when the venue bans the IP (HTTP 418), with None once it lifts."""


class RestError(Exception):
    """A REST call failed for good (a 4xx, a bad body, or retries exhausted); `status` is
    the HTTP status of a 4xx answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateBudget(Protocol):
    """What a request may cost now; pure bookkeeping over an explicit `now` (seconds)."""

    def wait_time(self, cost: int, now: float) -> float:
        """Seconds to wait before sending a request of `cost`; 0 means go, and counts it."""
        ...

    def block(self, seconds: float, now: float) -> None:
        """Send nothing for `seconds` (after a 429 or 418)."""
        ...


class RequestRate:
    """At most `per_second` requests in any one-second window (a sliding window)."""

    def __init__(self, per_second: int) -> None:
        self.limit = max(per_second, 1)
        self._sent: list[float] = []
        self._blocked_until = 0.0
        self.used = 0

    def wait_time(self, cost: int, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        self._sent = [t for t in self._sent if t > now - 1.0]
        self.used = len(self._sent)
        if len(self._sent) + cost > self.limit:
            return self._sent[0] + 1.0 - now
        self._sent.extend([now] * cost)
        self.used = len(self._sent)
        return 0.0

    def block(self, seconds: float, now: float) -> None:
        self._blocked_until = max(self._blocked_until, now + seconds)


class RestClient:
    """GETs to one venue within its budget; subclasses read the venue's own usage headers."""

    venue = "venue"
    default_retry_after_s = DEFAULT_RETRY_AFTER_S  # a 429/418 without `Retry-After` waits this

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        budget: RateBudget,
        *,
        backoff_initial_s: float,
        backoff_max_s: float,
        on_ban: BanListener | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self.rate_budget = budget
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._on_ban = on_ban
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._banned = False
        self.throttled = 0  # 429/418 answers received

    async def get_response(
        self,
        path: str,
        params: Mapping[str, str | int],
        *,
        weight: int = 1,
        attempts: int | None = None,
    ) -> tuple[object, httpx.Headers]:
        """GET within the budget; retries 429/418/5xx/network errors; the JSON and headers.

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
                        return response.json(), response.headers
                    except ValueError as exc:
                        raise RestError(f"GET {path}: invalid JSON ({exc})") from None
                if status in (418, 429):
                    await self._throttled(path, response)
                    failures += 1
                    if attempts is not None and failures >= attempts:
                        raise RestError(f"GET {path}: HTTP {status}")
                    continue  # _acquire waits out Retry-After
                if status < 500:
                    raise RestError(f"GET {path}: HTTP {status} {response.text[:200]}", status)
                problem = f"HTTP {status}"
            failures += 1
            if attempts is not None and failures >= attempts:
                raise RestError(f"GET {path}: {problem}")
            delay = backoff_delay(failures - 1, *self._backoff, rng=self._rng)
            log.warning(
                "%s GET %s failed (%s); retrying in %.1fs", self.venue, path, problem, delay
            )
            await self._sleep(delay)

    async def get_json(
        self,
        path: str,
        params: Mapping[str, str | int],
        *,
        weight: int = 1,
        attempts: int | None = None,
    ) -> object:
        body, _ = await self.get_response(path, params, weight=weight, attempts=attempts)
        return body

    def _observe(self, response: httpx.Response) -> None:
        """Take the venue's own account of usage from a response (none by default)."""

    async def _acquire(self, weight: int) -> None:
        while (wait := self.rate_budget.wait_time(weight, self._clock())) > 0:
            log.info("%s request budget spent; waiting %.1fs", self.venue, wait)
            await self._sleep(wait)

    async def _throttled(self, path: str, response: httpx.Response) -> None:
        self.throttled += 1
        wait = retry_after_s(response.headers.get("Retry-After"), self.default_retry_after_s)
        self.rate_budget.block(wait, self._clock())
        if response.status_code == 429:
            log.warning("%s GET %s: HTTP 429 rate limited; waiting %gs", self.venue, path, wait)
            return
        detail = f"IP banned by {self.venue} (HTTP 418); REST paused for {wait:g}s"
        log.error("%s GET %s: %s", self.venue, path, detail)
        self._banned = True
        if self._on_ban is not None:
            await self._on_ban(detail)

    async def _ban_over(self) -> None:
        if self._banned:
            self._banned = False
            log.info("%s REST ban over", self.venue)
            if self._on_ban is not None:
                await self._on_ban(None)
