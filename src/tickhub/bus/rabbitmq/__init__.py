"""RabbitMQ bus (aio-pika): the MemoryBus contract across processes and machines.

Topology, every name derived from `exchange` (default `tickhub`):

- `tickhub`: durable topic exchange; the routing key is the topic (`trades.binance.BTCUSDT`).
- `tickhub.dead`: durable direct exchange that receives dead letters.
- `tickhub.<group>:<pattern>`: a group's durable quorum queue, one per (group, pattern) as in
  MemoryBus, bound with the pattern. Its consumers compete. `x-delivery-limit` =
  `max_retries`, dead letters go to `tickhub.dead` with routing key `<group>`, at least once
  (`x-dead-letter-strategy=at-least-once`, which needs `x-overflow=reject-publish`).
- `tickhub.<group>.dead`: the group's durable quorum dead-letter queue (read it with
  `dead_letters`).
- `tickhub.sub.<id>`: an ungrouped subscriber's own queue (each gets every message). It is not
  exclusive, so it outlives a dropped connection and nothing is missed while reconnecting;
  `x-expires` removes it when its process is gone, and `cancel`/`close` delete it.
- `live=True` adds `x-max-length` with `x-overflow=drop-head`: the broker drops the oldest
  message of a slow view and never slows the publishers (live queues have no dead letters).

Delivery is at least once. Messages are persistent and `publish` returns once the broker
confirmed them (publisher confirms; many publishes may await their confirms at once). A
subscription acks a message after its handler returned. A handler that raises gets the
message again (nack + requeue after a short backoff) until the queue's delivery limit, then
RabbitMQ moves it to the group's dead-letter queue and the others go on. The delivery count
also grows when a connection drops with the message unacked, so a message can reach the
dead-letter queue without `max_retries` handler failures, never silently.

Holding a message: RabbitMQ closes a channel whose oldest unacked delivery is older than
its `consumer_timeout` (30 min by default in 3.10, node-wide) and returns the message,
which a quorum queue counts as a delivery. A grouped handler that holds a message (a
writer waiting out a database outage) is therefore stopped after `hold_timeout` seconds
from the message's arrival (keep it below the broker's timeout; `TICKHUB_BUS_HOLD_S`):
a fresh copy without a delivery count goes to the end of the queue (confirmed) and the
original is acked, so a good message is never dead-lettered for the database's sake.

Reconnection: aio-pika's robust connection reconnects with backoff (the pause grows with the
outage) and restores channels, queues, bindings and consumers. `publish` waits for the
connection and retries with backoff for up to `publish_timeout` seconds, then raises.
"""

from tickhub.bus.rabbitmq._bus import RabbitBus
from tickhub.bus.rabbitmq._connection import BusUnavailableError
from tickhub.bus.rabbitmq._subscription import RabbitSubscription

__all__ = ["BusUnavailableError", "RabbitBus", "RabbitSubscription"]
