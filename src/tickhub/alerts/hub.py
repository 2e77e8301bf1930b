"""Live push of alerts to their owners' WebSocket connections (`/v1/alerts/stream`).

One `AlertHub` per API process subscribes once to `alerts.#` with a live subscription (no
group: every API process gets every alert, and a hub that falls behind loses old pushes
rather than slowing the scanner; the history API has them all). Each alert is encoded
once, as the history API shows it, and offered to that user's connections only. Every
connection has a bounded queue and its own sender with a send timeout: one that cannot
keep up is closed (1008), so it slows neither the others nor the bus (`tickhub.websocket`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from tickhub.alerts.events import AlertRaised
from tickhub.alerts.schemas import AlertOut
from tickhub.bus import Bus, Message, Subscription
from tickhub.websocket import Connection, QueuedClient, StreamHub, StreamStats

log = logging.getLogger(__name__)

PATTERN = "alerts.#"
MAX_CONNECTIONS_PER_USER = 20


@dataclass
class AlertHubStats(StreamStats):
    pushed: int = 0  # offered to a connection (`sent` counts those sent)


class AlertClient(QueuedClient):
    """One user's WebSocket: its queue and its sender task."""

    kind = "alerts"

    def __init__(
        self, hub: AlertHub, user_id: str, conn: Connection, *, queue_size: int, timeout_s: float
    ) -> None:
        super().__init__(hub, conn, queue_size=queue_size, send_timeout_s=timeout_s)
        self.user_id = user_id

    def handle_text(self, text: str) -> None:
        """`{"op": "ping"}` is answered with `{"op": "pong"}` after everything queued
        before it; anything else gets `{"op": "error", "detail"}`."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("op") == "ping":
            self.offer(json.dumps({"op": "pong"}))
        else:
            detail = 'the only message a client sends is {"op": "ping"}'
            self.offer(json.dumps({"op": "error", "detail": detail}))


class TooManyConnections(Exception):
    """The user already has `MAX_CONNECTIONS_PER_USER` open streams."""


class AlertHub(StreamHub[AlertClient]):
    """Bus → each user's WebSockets. `start`/`stop` belong to the web app's lifespan."""

    noun = "alert stream"
    _log = log
    stats: AlertHubStats

    def __init__(self, bus: Bus, *, queue_size: int = 256, send_timeout_s: float = 5.0) -> None:
        super().__init__(queue_size=queue_size, send_timeout_s=send_timeout_s)
        self._bus = bus
        self._subscription: Subscription | None = None
        self._clients: dict[str, set[AlertClient]] = {}
        self.stats = AlertHubStats()

    @property
    def running(self) -> bool:
        return self._subscription is not None

    def clients(self, user_id: str) -> list[AlertClient]:
        return list(self._clients.get(user_id, ()))

    async def start(self) -> None:
        if self._subscription is None:
            self._subscription = await self._bus.subscribe(PATTERN, self.on_event, live=True)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.cancel()
        await self._close_all()

    def connect(self, user_id: str, conn: Connection) -> AlertClient:
        group = self._clients.setdefault(user_id, set())
        if len(group) >= MAX_CONNECTIONS_PER_USER:
            raise TooManyConnections(f"at most {MAX_CONNECTIONS_PER_USER} alert streams per user")
        client = AlertClient(
            self, user_id, conn, queue_size=self._queue_size, timeout_s=self._send_timeout
        )
        group.add(client)
        self.stats.connected += 1
        return client

    def _all_clients(self) -> list[AlertClient]:
        return [c for group in self._clients.values() for c in group]

    def _remove(self, client: AlertClient) -> None:
        group = self._clients.get(client.user_id)
        if group is None or client not in group:
            return
        group.discard(client)
        self.stats.connected -= 1
        if not group:
            del self._clients[client.user_id]

    async def on_event(self, _topic: str, message: Message) -> None:
        """Bus handler: never waits, so the hub keeps up with the bus."""
        if not isinstance(message, AlertRaised):
            return
        group = self._clients.get(message.user_id)
        if not group:
            return
        text = AlertOut.of_event(message).model_dump_json()
        for client in list(group):
            client.offer(text)
            self.stats.pushed += 1
