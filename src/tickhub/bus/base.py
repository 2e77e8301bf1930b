"""The bus contract shared by every implementation.

Topics are dot-separated words (`trades.binance.BTCUSDT`). Patterns follow AMQP topic
rules: `*` matches one word, `#` matches zero or more words.

Delivery is at-least-once. Subscribers that share a `group` compete for messages (each
message reaches one of them); subscribers without a group each receive every message.
A handler that raises is retried; a message that keeps failing is dead-lettered, counted
and kept for inspection, and the others go on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

Message = Any
Handler = Callable[[str, Message], Awaitable[None]]


@dataclass
class DeadLetter:
    topic: str
    message: Message
    error: str


@dataclass
class BusStats:
    published: int = 0
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dropped_live: int = 0
    held_requeued: int = 0  # messages held past the hold timeout, put back as fresh copies
    dead_letters: list[DeadLetter] = field(default_factory=list)


class Subscription(Protocol):
    async def cancel(self) -> None: ...


class Bus(Protocol):
    stats: BusStats

    async def start(self) -> None: ...

    async def close(self) -> None:
        """Stop consuming after the messages already received are handled."""

    async def publish(self, topic: str, message: Message) -> None: ...

    async def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        group: str | None = None,
        live: bool = False,
    ) -> Subscription:
        """Deliver messages whose topic matches `pattern` to `handler`.

        `live=True` marks a view that may skip messages when it falls behind (a browser
        feed); it never slows the publishers. Storage subscribers leave it False.
        """
        ...

    async def declare(self, pattern: str, *, group: str, live: bool = False) -> str:
        """Create a group's queue before any consumer exists, so that what is published
        meanwhile waits for the group instead of being dropped. Returns the queue's name."""
        ...

    async def join(self) -> None:
        """Wait until every message published so far has been handled (tests, shutdown)."""


@lru_cache(maxsize=16_384)
def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` zero or more. Remembered: the in-process
    bus asks it for every queue at every publish, with a few patterns and topics (one per
    instrument and kind) asked over and over."""
    return _match(pattern.split("."), topic.split("."))


def _match(pat: list[str], words: list[str]) -> bool:
    if not pat:
        return not words
    head, rest = pat[0], pat[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in {"*", words[0]}) and _match(rest, words[1:])
