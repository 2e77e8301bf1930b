"""In-memory bus for one process: asyncio queues, the same contract as RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tickhub.bus.base import BusStats, DeadLetter, Handler, Message, topic_matches
from tickhub.bus.deadletter import DeadLetterFile

log = logging.getLogger(__name__)

_STOP = object()


@dataclass(eq=False)
class _Consumer:
    handler: Handler
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _Queue:
    """One queue per group (or per ungrouped subscriber); its consumers compete."""

    pattern: str
    live: bool
    maxsize: int
    group: str = ""
    queue: asyncio.Queue[tuple[str, Message] | object] = field(init=False)
    consumers: list[_Consumer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, q: _Queue, consumer: _Consumer, key: str) -> None:
        self._bus, self._q, self._consumer, self._key = bus, q, consumer, key

    async def cancel(self) -> None:
        await self._bus._remove(self._q, self._consumer, self._key)


class MemoryBus:
    """Competing consumers per group, fan-out across groups, bounded queues.

    A full storage queue makes `publish` wait (back-pressure, never loss); a full live
    queue drops its oldest message and counts it.

    A handler that raises is retried `max_retries` times, after `retry_backoff_s`
    doubling each time; a message still failing is dead-lettered: counted, kept in
    `stats.dead_letters` and, with a `dead_letter_file`, written to disk (except for
    live queues, whose messages a later one replaces).
    """

    def __init__(
        self,
        *,
        maxsize: int = 1000,
        max_retries: int = 3,
        retry_backoff_s: float = 0.0,
        dead_letter_file: DeadLetterFile | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._queues: dict[str, _Queue] = {}
        self._maxsize = maxsize
        self._max_retries = max_retries
        self._retry_backoff_s = retry_backoff_s
        self._dead_letter_file = dead_letter_file
        self._sleep = sleep
        self._anon = 0
        self._closed = False
        self.stats = BusStats()

    async def start(self) -> None:
        self._closed = False

    async def publish(self, topic: str, message: Message) -> None:
        if self._closed:
            raise RuntimeError("bus is closed")
        self.stats.published += 1
        for q in list(self._queues.values()):
            if not topic_matches(q.pattern, topic):
                continue
            if q.live and q.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.queue.get_nowait()
                    q.queue.task_done()
                    self.stats.dropped_live += 1
            await q.queue.put((topic, message))

    async def declare(self, pattern: str, *, group: str, live: bool = False) -> str:
        key = f"{group}:{pattern}"
        if key not in self._queues:
            self._queues[key] = _Queue(
                pattern=pattern, live=live, maxsize=self._maxsize, group=group
            )
        return key

    async def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        group: str | None = None,
        live: bool = False,
    ) -> _MemorySubscription:
        if group is None:
            self._anon += 1
            key = f"_anon.{self._anon}"
        else:
            key = f"{group}:{pattern}"
        q = self._queues.get(key)
        if q is None:
            q = _Queue(pattern=pattern, live=live, maxsize=self._maxsize, group=group or key)
            self._queues[key] = q
        consumer = _Consumer(handler)
        consumer.task = asyncio.create_task(self._consume(q, consumer), name=f"bus:{key}")
        q.consumers.append(consumer)
        return _MemorySubscription(self, q, consumer, key)

    async def _consume(self, q: _Queue, consumer: _Consumer) -> None:
        while True:
            item = await q.queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, tuple)
                topic, message = item
                await self._deliver(q, consumer.handler, topic, message)
            finally:
                q.queue.task_done()

    async def _deliver(self, q: _Queue, handler: Handler, topic: str, message: Message) -> None:
        delay = self._retry_backoff_s
        for attempt in range(self._max_retries + 1):
            try:
                await handler(topic, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt < self._max_retries:
                    self.stats.retried += 1
                    log.warning("handler failed on %s (attempt %d): %r", topic, attempt + 1, exc)
                    if delay > 0:
                        await self._sleep(delay)
                        delay *= 2
                    continue
                await self._dead_letter(q, topic, message, repr(exc))
            else:
                self.stats.delivered += 1
            return

    async def _dead_letter(self, q: _Queue, topic: str, message: Message, error: str) -> None:
        self.stats.dead_lettered += 1
        self.stats.dead_letters.append(DeadLetter(topic, message, error))
        if self._dead_letter_file is not None and not q.live:
            try:
                await self._dead_letter_file.write(
                    topic=topic, group=q.group, message=message, error=error
                )
            except OSError:
                log.exception("could not write a dead letter on %s to disk", topic)
        log.error("dead-lettered a message on %s: %s", topic, error)

    async def _remove(self, q: _Queue, consumer: _Consumer, key: str) -> None:
        if consumer in q.consumers:
            q.consumers.remove(consumer)
        if consumer.task is not None:
            consumer.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer.task
        if not q.consumers and key.startswith("_anon."):
            self._queues.pop(key, None)

    async def join(self) -> None:
        # a handler may publish to a queue already joined: go round until all are quiet
        while True:
            busy = [q for q in self._queues.values() if q.consumers]
            for q in busy:
                await q.queue.join()
            if all(q.queue.empty() for q in busy):
                return

    async def close(self) -> None:
        """Handle what is queued, then stop every consumer. Handlers may still publish
        while the queues drain (the writer's candle updates)."""
        await self.join()
        self._closed = True
        for q in list(self._queues.values()):
            for _ in q.consumers:
                await q.queue.put(_STOP)
            for c in q.consumers:
                if c.task is not None:
                    await c.task
        self._queues.clear()
