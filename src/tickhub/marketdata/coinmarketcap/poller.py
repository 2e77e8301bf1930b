"""The CoinMarketCap poller: both calls each minute, on the minute, within a daily
credit budget (see `client` for the calls and their errors).

Credits used are counted per UTC day from `status.credit_count`. Budget policy: the global
call (1 credit) has priority; the listings call is made only when its credits plus the
global call's still fit in `daily_credit_budget`; when even the global call does not fit,
the minute is skipped. Polling every minute costs 1440 x (ceil(limit/200) + 1) credits a
day, far more than the free plan's ~333: the budget then runs out during the day and calls
resume after 00:00 UTC (logged once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tickhub.common.clock import MINUTE_S, Clock, MinuteTick, Sleep, minute_ticks
from tickhub.marketdata.coinmarketcap.client import (
    DAILY_CAP_CODE,
    GLOBAL_CREDIT_COST,
    MONTHLY_CAP_CODE,
    CmcError,
    CmcMalformedError,
    CmcNonRetryableError,
    CmcRateLimitedError,
    CoinMarketCapClient,
    GlobalMetricsResult,
    ListingsResult,
    listings_credit_cost,
)
from tickhub.marketdata.events import RejectedFrame
from tickhub.settings import CoinMarketCapSettings

__all__ = ["CoinMarketCapPoller", "PollerStats"]

log = logging.getLogger("tickhub.marketdata.coinmarketcap.client")

OnListings = Callable[[MinuteTick, ListingsResult], Awaitable[None]]
OnGlobal = Callable[[MinuteTick, GlobalMetricsResult], Awaitable[None]]
OnReject = Callable[[RejectedFrame], Awaitable[None]]


@dataclass(slots=True)
class PollerStats:
    ticks: int = 0
    skipped_ticks: int = 0  # minute boundaries missed by a stall
    listings_calls: int = 0
    global_calls: int = 0
    listings_skipped_budget: int = 0
    global_skipped_budget: int = 0
    rate_limited: int = 0
    unavailable: int = 0
    rejected: int = 0


class CoinMarketCapPoller:
    """Both calls each minute, within the daily credit budget. `run` returns only when
    cancelled, or raises `CmcNonRetryableError` (a bad key or plan)."""

    def __init__(
        self,
        settings: CoinMarketCapSettings,
        client: CoinMarketCapClient,
        on_listings: OnListings,
        on_global: OnGlobal,
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        on_reject: OnReject | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.on_listings = on_listings
        self.on_global = on_global
        self.on_reject = on_reject
        self._clock = clock
        self._sleep = sleep
        self.stats = PollerStats()
        self.credits_day: date | None = None
        self.credits_used = 0
        self.blocked_until = 0.0  # epoch seconds; set by a 429
        self._budget_logged = False

    @property
    def listings_cost(self) -> int:
        return listings_credit_cost(self.settings.limit)

    async def run(self) -> None:
        per_day = 1440 * (self.listings_cost + GLOBAL_CREDIT_COST)
        if per_day > self.settings.daily_credit_budget:
            log.warning(
                "CoinMarketCap: polling every minute needs %d credits a day, the budget is %d; "
                "calls stop when it is spent and resume at 00:00 UTC",
                per_day,
                self.settings.daily_credit_budget,
            )
        async for tick in minute_ticks(self._clock, self._sleep):
            await self.poll_once(tick)

    async def poll_once(self, tick: MinuteTick) -> None:
        """The calls for one minute boundary."""
        self.stats.ticks += 1
        if tick.skipped:
            self.stats.skipped_ticks += tick.skipped
            log.warning("CoinMarketCap: %d minute(s) skipped after a stall", tick.skipped)
        now = self._clock()
        if now < self.blocked_until:
            log.info("CoinMarketCap: rate limited, minute %s skipped", tick.at.isoformat())
            return
        self._roll_day(tick.at.date())
        budget = self.settings.daily_credit_budget
        do_global = self.credits_used + GLOBAL_CREDIT_COST <= budget
        do_listings = (
            do_global and self.credits_used + GLOBAL_CREDIT_COST + self.listings_cost <= budget
        )
        if not do_listings:
            self.stats.listings_skipped_budget += 1
        if not do_global:
            self.stats.global_skipped_budget += 1
        if not do_listings and not self._budget_logged:
            self._budget_logged = True
            log.warning(
                "CoinMarketCap: daily credit budget %d reached (%d used): %s until 00:00 UTC",
                budget,
                self.credits_used,
                "listings skipped" if do_global else "all calls skipped",
            )
        # Retries of a failing call end a few seconds before the next minute's calls.
        deadline = tick.epoch_s + MINUTE_S - 5
        calls: list[Awaitable[None]] = []
        if do_global:
            calls.append(self._global(tick, deadline))
        if do_listings:
            calls.append(self._listings(tick, deadline))
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):  # a bad key or plan, or a callback's error
                raise result

    async def _listings(self, tick: MinuteTick, deadline: float) -> None:
        # Counted up front: a failure after CMC answered may still have cost credits.
        self.credits_used += self.listings_cost
        try:
            result = await self.client.listings(deadline=deadline)
        except CmcError as exc:
            await self._failed(tick, exc)
            return
        self.credits_used += result.credit_count - self.listings_cost
        self.stats.listings_calls += 1
        await self.on_listings(tick, result)

    async def _global(self, tick: MinuteTick, deadline: float) -> None:
        self.credits_used += GLOBAL_CREDIT_COST
        try:
            result = await self.client.global_metrics(deadline=deadline)
        except CmcError as exc:
            await self._failed(tick, exc)
            return
        self.credits_used += result.credit_count - GLOBAL_CREDIT_COST
        self.stats.global_calls += 1
        await self.on_global(tick, result)

    async def _failed(self, tick: MinuteTick, exc: CmcError) -> None:
        if isinstance(exc, CmcNonRetryableError):
            log.error("%s", exc)
            raise exc
        if isinstance(exc, CmcRateLimitedError):
            self.stats.rate_limited += 1
            self.blocked_until = max(self.blocked_until, self._retry_at(tick, exc))
            log.warning(
                "%s; next call after %s",
                exc,
                datetime.fromtimestamp(self.blocked_until, UTC).isoformat(),
            )
        elif isinstance(exc, CmcMalformedError):
            self.stats.rejected += 1
            log.error("%s", exc)
            if self.on_reject is not None:
                await self.on_reject(exc.rejected)
        else:
            self.stats.unavailable += 1
            log.warning("%s; minute %s lost", exc, tick.at.isoformat())

    def _retry_at(self, tick: MinuteTick, exc: CmcRateLimitedError) -> float:
        if exc.error_code in (DAILY_CAP_CODE, MONTHLY_CAP_CODE):
            next_day = datetime.combine(tick.at.date() + timedelta(days=1), datetime.min.time())
            return next_day.replace(tzinfo=UTC).timestamp()
        if exc.retry_after_s is not None:
            return self._clock() + exc.retry_after_s
        return float(tick.epoch_s + MINUTE_S)  # the next minute

    def _roll_day(self, day: date) -> None:
        if self.credits_day != day:
            self.credits_day = day
            self.credits_used = 0
            self._budget_logged = False
