"""The message bus: a small protocol with in-memory and (later) RabbitMQ implementations."""

from tickhub.bus.base import Bus, Handler, Message, Subscription, topic_matches
from tickhub.bus.memory import MemoryBus

__all__ = ["Bus", "Handler", "MemoryBus", "Message", "Subscription", "topic_matches"]
