"""The message bus: a small protocol with in-memory and RabbitMQ implementations.

`make_bus(url, codec=...)` picks one from `TICKHUB_BUS_URL`: `memory://` (one process) or
`amqp://user:pass@host:5672/vhost` (RabbitMQ; aio-pika is imported only then). The codec,
which turns messages into bytes on the wire, is assembled by the composition root from the
messages each context declares (`tickhub.messages`): the bus imports no context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tickhub.bus.base import (
    Bus,
    BusStats,
    DeadLetter,
    Handler,
    Message,
    Subscription,
    topic_matches,
)
from tickhub.bus.codec import Codec, CodecError, MessageSpec
from tickhub.bus.memory import MemoryBus

if TYPE_CHECKING:
    from tickhub.bus.rabbitmq import RabbitBus

__all__ = [
    "Bus",
    "BusStats",
    "Codec",
    "CodecError",
    "DeadLetter",
    "Handler",
    "MemoryBus",
    "Message",
    "MessageSpec",
    "RabbitBus",
    "Subscription",
    "make_bus",
    "topic_matches",
]


def make_bus(url: str, *, codec: Codec, **options: Any) -> Bus:
    """The bus a URL names; `options` go to the implementation's constructor. `codec` turns
    messages into bytes where they leave the process (an in-memory bus passes them as they
    are)."""
    scheme = url.partition("://")[0].lower()
    if scheme == "memory":
        return MemoryBus(**options)
    if scheme in {"amqp", "amqps"}:
        from tickhub.bus.rabbitmq import RabbitBus

        return RabbitBus(url, codec=codec, **options)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or amqp://user:pass@host:5672/")


def __getattr__(name: str) -> Any:
    if name == "RabbitBus":  # imported on first use: aio-pika is needed only for RabbitMQ
        from tickhub.bus.rabbitmq import RabbitBus

        return RabbitBus
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
