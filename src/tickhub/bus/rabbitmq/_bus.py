"""RabbitBus: topology, publishing with confirms, subscribing, draining, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)
from aio_pika.exceptions import (
    AuthenticationError,
    ChannelNotFoundEntity,
    ProbableAuthenticationError,
)

from tickhub.bus.base import BusStats, DeadLetter, Handler, Message
from tickhub.bus.codec import CONTENT_TYPE, Codec, CodecError
from tickhub.bus.rabbitmq._connection import (
    TRANSIENT,
    BackoffConnection,
    BusUnavailableError,
    log,
)
from tickhub.bus.rabbitmq._subscription import RabbitSubscription

_GROUP = re.compile(r"[A-Za-z0-9_.-]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@#,/+ -]")  # what AMQP 0-9-1 allows in a queue name


class RabbitBus:
    """The Bus protocol on RabbitMQ; see the module docstring for topology and semantics.
    `codec` turns messages into bodies and back."""

    def __init__(
        self,
        url: str,
        *,
        codec: Codec,
        exchange: str = "tickhub",
        prefetch: int = 8,
        max_retries: int = 5,
        retry_backoff: float = 0.1,
        live_max_length: int = 1000,
        orphan_expiry: float = 300.0,
        publish_timeout: float = 30.0,
        connect_timeout: float = 30.0,
        close_timeout: float = 30.0,
        reconnect_min: float = 0.5,
        name: str = "tickhub",
        hold_timeout: float = 900.0,
    ) -> None:
        self._url = url
        self.codec = codec
        self.exchange = exchange
        self.dead_exchange = f"{exchange}.dead"
        self.prefetch = prefetch
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.live_max_length = live_max_length
        self._orphan_expiry_ms = int(orphan_expiry * 1000)
        self.publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self.close_timeout = close_timeout
        self.hold_timeout = hold_timeout
        self._reconnect_min = reconnect_min
        self._name = name
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumers: list[RabbitSubscription] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.declared_queues: set[str] = set()
        self.stats = BusStats()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._connection is not None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._connect_timeout
        delay = self._reconnect_min
        while True:
            try:
                connection = await aio_pika.connect_robust(
                    self._url,
                    connection_class=BackoffConnection,
                    reconnect_interval=self._reconnect_min,
                    client_properties={"connection_name": self._name},
                    timeout=10,
                )
                break
            except (AuthenticationError, ProbableAuthenticationError):
                raise
            except TRANSIENT as exc:
                if loop.time() + delay > deadline:
                    raise BusUnavailableError(
                        f"RabbitMQ not reachable within {self._connect_timeout:g}s: {exc!r}"
                    ) from exc
                log.warning("RabbitMQ not reachable (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BackoffConnection.backoff_max)
        self._connection = connection
        self._channel = await connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await self._channel.declare_exchange(
            self.dead_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        self._closed = False

    async def close(self) -> None:
        """Stop consuming, let the handlers finish (and ack) what they received, then wait
        for the publishes in flight and close. Unreceived messages stay in their queues."""
        if self._connection is None:
            self._closed = True
            return
        await asyncio.gather(*(c.stop() for c in list(self._consumers)))
        self._consumers.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.close_timeout)
        self._closed = True
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        await connection.close()

    # --- publishing -------------------------------------------------------------------------

    async def publish(self, topic: str, message: Message) -> None:
        """Publish durably; return once the broker confirmed. Waits out a dropped connection
        (retrying with backoff) for up to `publish_timeout`, then raises: never a silent loss.
        A retried publish may arrive twice, which at-least-once delivery allows."""
        if self._closed:
            raise RuntimeError("bus is closed")
        if self._exchange is None or self._channel is None:
            raise RuntimeError("bus is not started: await bus.start() first")
        body = aio_pika.Message(
            self.codec.encode(message),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type=CONTENT_TYPE,
            type=self.codec.message_type(message),
        )
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._publish(self._channel, self._exchange, topic, body)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
        self.stats.published += 1

    async def _publish(
        self,
        channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        topic: str,
        body: aio_pika.Message,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_timeout
        delay, attempt = self._reconnect_min, 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await channel.ready()
                    await exchange.publish(body, routing_key=topic, mandatory=False)
                return
            except TRANSIENT as exc:
                left = deadline - loop.time()
                if left <= 0:
                    raise BusUnavailableError(
                        f"publish to {topic!r} not confirmed after {attempt} attempt(s) in "
                        f"{self.publish_timeout:g}s: {exc!r}"
                    ) from exc
                log.warning("publish to %s failed (%r); retrying in %.1fs", topic, exc, delay)
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, BackoffConnection.backoff_max)

    async def requeue_copy(self, queue: str, incoming: AbstractIncomingMessage) -> None:
        """Publish a copy of `incoming` to the end of `queue` (confirmed), without its
        delivery count: a message held too long starts afresh instead of counting the
        broker's consumer timeout as a failed delivery."""
        if self._channel is None:
            raise RuntimeError("bus is not started: await bus.start() first")
        headers = {k: v for k, v in (incoming.headers or {}).items() if k != "x-delivery-count"}
        body = aio_pika.Message(
            incoming.body,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type=incoming.content_type,
            type=incoming.type,
        )
        await self._publish(self._channel, self._channel.default_exchange, queue, body)
        self.stats.held_requeued += 1

    # --- subscribing ------------------------------------------------------------------------

    async def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        group: str | None = None,
        live: bool = False,
    ) -> RabbitSubscription:
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await self._declare(channel, pattern, group=group, live=live)
        consumer = RabbitSubscription(self, channel, queue, handler, group=group)
        await consumer.start()
        self._consumers.append(consumer)
        return consumer

    async def declare(self, pattern: str, *, group: str, live: bool = False) -> str:
        """Create a group's queue (and dead-letter queue) without consuming, so messages
        published before the group's first consumer starts are kept. Returns its name."""
        channel = self._require_channel()
        queue = await self._declare(channel, pattern, group=group, live=live)
        return queue.name

    def group_queue(self, pattern: str, group: str) -> str:
        """`tickhub.writer:trades.#`; a pattern with characters a queue name cannot hold
        (`*`) gets them replaced and a hash of the pattern appended: `...:trades.+@1a2b3c4d`."""
        safe = _UNSAFE.sub("_", pattern.replace("*", "+"))
        if safe != pattern:
            safe += "@" + hashlib.blake2b(pattern.encode(), digest_size=4).hexdigest()
        return f"{self.dead_letter_queue(group)[: -len('.dead')]}:{safe}"

    def dead_letter_queue(self, group: str) -> str:
        if not _GROUP.fullmatch(group):
            raise ValueError(f"group {group!r}: use letters, digits, '-', '_' and '.'")
        return f"{self.exchange}.{group}.dead"

    async def _declare(
        self, channel: AbstractRobustChannel, pattern: str, *, group: str | None, live: bool
    ) -> AbstractRobustQueue:
        args: dict[str, Any] = {}
        if live:
            args |= {"x-max-length": self.live_max_length, "x-overflow": "drop-head"}
        if group is None:
            name = f"{self.exchange}.sub.{uuid.uuid4().hex[:12]}"
            args["x-expires"] = self._orphan_expiry_ms
            queue = await channel.declare_queue(name, durable=False, arguments=args)
        else:
            args |= {"x-queue-type": "quorum", "x-delivery-limit": self.max_retries}
            if not live:
                dead = self.dead_letter_queue(group)
                dead_queue = await channel.declare_queue(
                    dead, durable=True, arguments={"x-queue-type": "quorum"}
                )
                await dead_queue.bind(self.dead_exchange, routing_key=group)
                self.declared_queues.add(dead)
                args |= {
                    "x-dead-letter-exchange": self.dead_exchange,
                    "x-dead-letter-routing-key": group,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                }
            name = self.group_queue(pattern, group)
            queue = await channel.declare_queue(name, durable=True, arguments=args)
            self.declared_queues.add(name)
        await queue.bind(self.exchange, routing_key=pattern)
        return queue

    # --- draining and inspection ------------------------------------------------------------

    async def join(self, *, quiet: float = 0.1, poll: float = 0.02) -> None:
        """Wait until this bus's publishes are confirmed, the queues its subscriptions consume
        are empty and no received message is still being handled.

        Queue depths come from passive declares (no management plugin). A message on its way
        (to a consumer, or back to its queue after a nack) is in neither count for a moment,
        so the state must hold for `quiet` seconds. Meant for tests and shutdown; messages
        published elsewhere into these queues are waited for too.
        """
        await self._idle.wait()
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while loop.time() - quiet_since < quiet:
            await asyncio.sleep(poll)
            busy = self._in_flight > 0  # a handler may publish
            for consumer in list(self._consumers):
                if busy:
                    break
                busy = consumer.pending > 0 or await consumer.backlog() > 0
            if busy:
                quiet_since = loop.time()

    async def dead_letter_count(self, group: str) -> int:
        """How many messages a group's dead-letter queue holds."""
        channel = await self._require_connection().channel(publisher_confirms=False)
        try:
            queue = await channel.declare_queue(
                self.dead_letter_queue(group), passive=True, robust=False
            )
        except ChannelNotFoundEntity:
            return 0
        finally:
            with contextlib.suppress(*TRANSIENT):
                await channel.close()
        return int(queue.declaration_result.message_count or 0)

    async def dead_letters(self, group: str, limit: int = 100) -> list[DeadLetter]:
        """Peek at up to `limit` messages of a group's dead-letter queue, oldest first, with
        the reason RabbitMQ recorded (x-death). They stay in the queue: the broker takes them
        back as the peek ends (a count taken at that moment may briefly miss them)."""
        connection = self._require_connection()
        channel = await connection.channel(publisher_confirms=False)
        try:
            try:
                queue = await channel.declare_queue(
                    self.dead_letter_queue(group), passive=True, robust=False
                )
            except ChannelNotFoundEntity:
                return []
            letters: list[DeadLetter] = []
            for _ in range(limit):
                got = await queue.get(no_ack=False, fail=False)
                if got is None:
                    break
                letters.append(_dead_letter(got, self.codec))
            return letters
        finally:
            # Closing the channel returns the unacked messages to the queue, in order.
            with contextlib.suppress(*TRANSIENT):
                await channel.close()

    # --- helpers ----------------------------------------------------------------------------

    def _require_connection(self) -> AbstractRobustConnection:
        if self._connection is None or self._closed:
            raise RuntimeError("bus is not started (or closed): await bus.start() first")
        return self._connection

    def _require_channel(self) -> AbstractRobustChannel:
        self._require_connection()
        assert self._channel is not None
        return self._channel

    def _online(self) -> bool:
        connection = self._connection
        return connection is not None and connection.connected.is_set()

    def _record_dead(self, topic: str, message: object, error: str) -> None:
        self.stats.dead_lettered += 1
        self.stats.dead_letters.append(DeadLetter(topic, message, error))
        del self.stats.dead_letters[:-1000]  # keep the latest; the broker keeps them all


def _dead_letter(incoming: AbstractIncomingMessage, codec: Codec) -> DeadLetter:
    deaths = incoming.headers.get("x-death")
    death: dict[str, Any] = deaths[0] if isinstance(deaths, list) and deaths else {}  # type: ignore[assignment]
    keys = death.get("routing-keys") or [incoming.routing_key or ""]
    reason = f"{death.get('reason', 'unknown')} in {death.get('queue', '?')}"
    if death.get("count", 1) != 1:
        reason += f" ({death['count']} times)"
    try:
        message: object = codec.decode(incoming.body)
    except CodecError as exc:
        message, reason = bytes(incoming.body), f"{reason}; undecodable: {exc}"
    return DeadLetter(topic=str(keys[0]), message=message, error=reason)
