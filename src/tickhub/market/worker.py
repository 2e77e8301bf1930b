"""The market engine's worker: clears each session announced as launched on the bus.

In `tickhub up` one runs in-process over the in-memory bus; `tickhub market-engine` runs
them apart over RabbitMQ, as competing consumers of one queue (`CLEARING_GROUP`): each
launch reaches one worker, and a worker that dies mid-clearing leaves the message to be
redelivered; the clearing is idempotent, so a redelivery or a second worker books
nothing twice."""

from __future__ import annotations

import logging
from datetime import datetime

from tickhub.bus import Bus
from tickhub.bus.base import Subscription
from tickhub.common.time import datetime_to_us
from tickhub.market.events import CLEARING_GROUP, LAUNCHED_TOPIC, SessionLaunched
from tickhub.market.service import Announce, Market, Outcome, clear_session

log = logging.getLogger("tickhub.market.worker")


def announcer(bus: Bus) -> Announce:
    """Announce a launched session on `bus`."""

    async def announce(session_id: int, now: datetime) -> None:
        event = SessionLaunched(session_id, datetime_to_us(now))
        await bus.publish(event.topic, event)

    return announce


class ClearingWorker:
    def __init__(self, market: Market) -> None:
        self.market = market
        self.outcomes: list[Outcome] = []
        self._subscription: Subscription | None = None

    async def start(self, bus: Bus) -> None:
        await bus.declare(LAUNCHED_TOPIC, group=CLEARING_GROUP)
        self._subscription = await bus.subscribe(LAUNCHED_TOPIC, self.handle, group=CLEARING_GROUP)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.cancel()
            self._subscription = None

    async def handle(self, _topic: str, message: SessionLaunched) -> None:
        outcome = await clear_session(self.market, message.session_id)
        if not outcome.booked:
            log.info("market session %s: nothing to clear (%s)", outcome.session_id, outcome.reason)
        self.outcomes.append(outcome)
