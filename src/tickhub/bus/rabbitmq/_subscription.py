"""One subscription: a channel, a consumer, and a task that handles and acks in order."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustQueue
from aio_pika.exceptions import ChannelInvalidStateError

from tickhub.bus.base import BusStats, Handler
from tickhub.bus.codec import Codec, CodecError
from tickhub.bus.rabbitmq._connection import TRANSIENT, log, settle


class SubscriptionOwner(Protocol):
    """What a subscription uses of the bus that made it (a `RabbitBus`), named here so that
    this module does not import the bus, which imports it."""

    codec: Codec
    stats: BusStats
    max_retries: int
    retry_backoff: float
    close_timeout: float
    hold_timeout: float
    _consumers: list[RabbitSubscription]

    def _online(self) -> bool: ...

    async def requeue_copy(self, queue: str, incoming: AbstractIncomingMessage) -> None: ...

    def _record_dead(self, topic: str, message: object, error: str) -> None: ...


class RabbitSubscription:
    """One subscription: its own channel (so its own prefetch), one consumer on its queue, and
    one task that runs the handler on each received message in order, then acks it."""

    def __init__(
        self,
        bus: SubscriptionOwner,
        channel: AbstractRobustChannel,
        queue: AbstractRobustQueue,
        handler: Handler,
        *,
        group: str | None,
    ) -> None:
        self.bus, self.channel, self.queue = bus, channel, queue
        self.handler, self.group = handler, group
        # each message with the loop time it arrived at
        self.inbox: asyncio.Queue[tuple[AbstractIncomingMessage, float] | None] = asyncio.Queue()
        self.pending = 0  # received and not yet acked or nacked
        self._tag: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"bus:{self.queue.name}")
        self._tag = await self.queue.consume(self._on_message)

    async def cancel(self) -> None:
        """Stop this subscription (the Subscription protocol)."""
        if self in self.bus._consumers:
            self.bus._consumers.remove(self)
        await self.stop()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.pending += 1
        self.inbox.put_nowait((message, asyncio.get_running_loop().time()))

    async def backlog(self) -> int:
        """Messages ready in the queue (asked on this consumer's channel, so the answer comes
        after any delivery the broker sent before it)."""
        try:
            underlay = await asyncio.wait_for(self.channel.get_underlay_channel(), 5)
            ok = await underlay.queue_declare(self.queue.name, passive=True, timeout=5)
        except TRANSIENT:
            return 1  # reconnecting: unknown, so not empty
        return int(ok.message_count or 0)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # While disconnected there is nothing to cancel at the broker: closing the connection
        # ends the reconnect attempts, and unacked messages go back to their queue.
        online = self.bus._online()
        if self._tag is not None and online:
            with contextlib.suppress(*TRANSIENT):
                await asyncio.wait_for(self.queue.cancel(self._tag), 5)
        await asyncio.sleep(0)  # let deliveries received before cancel-ok reach the inbox
        self.inbox.put_nowait(None)
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.bus.close_timeout)
            except TimeoutError:
                log.error(
                    "%s: handlers still busy after %gs; their messages will be redelivered",
                    self.queue.name,
                    self.bus.close_timeout,
                )
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if online:
            with contextlib.suppress(*TRANSIENT):
                if self.group is None:
                    await asyncio.wait_for(self.channel.queue_delete(self.queue.name), 5)
                await asyncio.wait_for(self.channel.close(), 5)

    async def _run(self) -> None:
        while True:
            item = await self.inbox.get()
            if item is None:
                return
            message, received_at = item
            try:
                await self._process(message, received_at)
            except Exception:  # a bug here must not stop the subscription
                log.exception("%s: failed to process a message; returning it", self.queue.name)
                await settle(message.nack(requeue=True))
            finally:
                self.pending -= 1

    async def _process(self, incoming: AbstractIncomingMessage, received_at: float) -> None:
        try:
            incoming.channel  # noqa: B018  (raises once its channel is gone)
        except ChannelInvalidStateError:
            return  # received before a reconnect: the broker delivers it again
        topic = incoming.routing_key or ""
        try:
            message = self.bus.codec.decode(incoming.body)
        except CodecError as exc:
            log.error("dead-lettered an undecodable message on %s: %s", topic, exc)
            self.bus._record_dead(topic, bytes(incoming.body), f"undecodable: {exc}")
            await settle(incoming.reject(requeue=False))
            return
        bus = self.bus
        # A quorum queue counts earlier deliveries; an ungrouped queue retries here.
        count = incoming.headers.get("x-delivery-count")
        attempt = count if isinstance(count, int) else 0
        while True:
            try:
                await self._handle(topic, message, received_at)
            except _HeldTooLong:
                # RabbitMQ would close the channel at its consumer timeout and count the
                # return as a delivery: a good message held through a long database outage
                # would reach the dead-letter queue. A fresh copy goes to the end of the
                # queue instead (at least once: storage is idempotent).
                log.warning("%s: a message on %s was held %gs; requeued as a fresh copy",
                            self.queue.name, topic, bus.hold_timeout)  # fmt: skip
                await bus.requeue_copy(self.queue.name, incoming)
                await settle(incoming.ack())
                return
            except Exception as exc:
                if attempt >= bus.max_retries:
                    log.error("dead-lettered a message on %s: %r", topic, exc)
                    bus._record_dead(topic, message, repr(exc))
                    # Grouped: past the delivery limit, RabbitMQ dead-letters it on return.
                    await settle(incoming.nack(requeue=self.group is not None))
                    return
                bus.stats.retried += 1
                log.warning("handler failed on %s (attempt %d): %r", topic, attempt + 1, exc)
                if bus.retry_backoff:
                    await asyncio.sleep(min(bus.retry_backoff * 2**attempt, 5.0))
                attempt += 1
                if self.group is not None:
                    await settle(incoming.nack(requeue=True))
                    return
            else:
                bus.stats.delivered += 1
                await settle(incoming.ack())
                return

    async def _handle(self, topic: str, message: object, received_at: float) -> None:
        """Run the handler; a grouped message is not held past `hold_timeout` from its
        arrival (raises `_HeldTooLong`, the handler cancelled)."""
        if self.group is None:
            await self.handler(topic, message)
            return
        left = self.bus.hold_timeout - (asyncio.get_running_loop().time() - received_at)
        if left <= 0:
            raise _HeldTooLong
        deadline = asyncio.timeout(left)
        try:
            async with deadline:
                await self.handler(topic, message)
        except TimeoutError as exc:
            if deadline.expired():
                raise _HeldTooLong from exc
            raise


class _HeldTooLong(Exception):
    """The handler held a message for as long as the bus allows."""
