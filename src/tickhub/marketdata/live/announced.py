"""What every in-memory cache of stored reads shares (`readcache`, `blockcache`): it
listens to the writer's announcements of changed minutes (`CandleUpdate` on
`candles.#`, published after the commit) from `start` to `stop`, the web app's lifespan,
and keeps nothing before it listens, after it stops, or with no memory given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from tickhub.bus import Bus, Message, Subscription


class Announced(ABC):
    """A cache kept true by the writer's announcements; `max_bytes` 0 keeps it off."""

    def __init__(self, bus: Bus, max_bytes: int) -> None:
        self._bus = bus
        self._max_bytes = max_bytes
        self._subscription: Subscription | None = None

    @property
    def running(self) -> bool:
        return self._subscription is not None and self._max_bytes > 0

    async def start(self) -> None:
        if self._subscription is None and self._max_bytes > 0:
            self._subscription = await self._bus.subscribe("candles.#", self.on_event, live=True)

    async def stop(self) -> None:
        sub, self._subscription = self._subscription, None
        if sub is not None:
            await sub.cancel()
        self.clear()

    @abstractmethod
    def clear(self) -> None:
        """Forget everything kept."""

    @abstractmethod
    async def on_event(self, topic: str, message: Message) -> None:
        """Bus handler of the announcements."""
