"""The connection side: what counts as transient, reconnecting with backoff, settling."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, ClassVar

from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from aio_pika.robust_connection import RobustConnection

log = logging.getLogger("tickhub.bus.rabbitmq")

# What a dropped connection, a closed channel or a broker that does not answer raises.
TRANSIENT = (AMQPError, ChannelInvalidStateError, ConnectionError, OSError, TimeoutError)


class BusUnavailableError(ConnectionError):
    """The broker could not be reached (or did not confirm) within the time allowed."""


class BackoffConnection(RobustConnection):
    """A robust connection whose pause between reconnect attempts doubles during an outage.

    aio-pika waits `reconnect_interval` before each attempt; here that pause is the time the
    connection has been down so far, clamped to [`backoff_min`, `backoff_max`]: attempts at
    about 0.5, 1, 2, 4, ... seconds, and back to `backoff_min` once connected.
    """

    backoff_max: ClassVar[float] = 30.0
    _down_since: float | None = None
    _backoff_min: float = 0.5

    @property
    def reconnect_interval(self) -> float:
        if self._down_since is None:
            return self._backoff_min
        down_for = self.loop.time() - self._down_since
        return min(self.backoff_max, max(self._backoff_min, down_for))

    @reconnect_interval.setter
    def reconnect_interval(self, value: float) -> None:
        self._backoff_min = float(value)

    async def _on_connection_close(self, closing: asyncio.Future[Any]) -> None:
        if self._down_since is None:
            self._down_since = self.loop.time()
        await super()._on_connection_close(closing)

    async def _on_connected(self) -> None:
        await super()._on_connected()
        self._down_since = None


async def settle(action: Awaitable[None]) -> None:
    try:
        await action
    except TRANSIENT as exc:
        # The channel went away: the broker requeues the message and delivers it again.
        log.info("ack/nack lost with its channel (%r); the message will be redelivered", exc)
