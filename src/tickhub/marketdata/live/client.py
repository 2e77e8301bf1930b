"""One client of the live stream: what it asked for, and how its frames reach it.

A client on the fast path (`sink`: uvicorn's transport, see `tickhub.websocket`) gets its
trades and candles as bytes its hub writes at each flush; whatever is for it alone (the
subscriptions reply, pong, errors, statuses) is written at once, after the hub has
flushed what it holds, so a client reads messages in the order they were meant. Any other
client goes through its queue and sender task (`QueuedClient`).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from tickhub.marketdata.events import SourceStatus
from tickhub.marketdata.live.selectors import Selector, parse_selector
from tickhub.marketdata.schemas import (
    CHANNELS,
    Channel,
    SourceStatusOut,
    StreamError,
    StreamPong,
    StreamRequest,
    StreamStatus,
    StreamSubscriptions,
)
from tickhub.websocket import (
    CLOSE_POLICY,
    Connection,
    DirectSink,
    QueuedClient,
    StreamHub,
    StreamStats,
    text_frame,
)

DEFAULT_CHANNELS: frozenset[Channel] = frozenset({"trades", "candles"})
MAX_SELECTORS = 500


class LiveHubSide(Protocol):
    """What a client needs of its hub (`LiveHub`)."""

    statuses: dict[str, SourceStatus]
    stats: StreamStats

    def flush_for(self, client: Any) -> None: ...

    def subscriptions_changed(self, client: Any) -> None: ...

    def now(self) -> float: ...

    def _drop(self, client: Any, reason: str, *, slow: bool = True) -> None: ...


class LiveClient(QueuedClient):
    """One WebSocket client: its subscriptions, and its sink or its queue and sender."""

    kind = "live"

    def __init__(
        self,
        hub: LiveHubSide,
        conn: Connection,
        *,
        queue_size: int,
        send_timeout_s: float,
        sink: DirectSink | None = None,
    ) -> None:
        assert isinstance(hub, StreamHub)
        super().__init__(hub, conn, queue_size=queue_size, send_timeout_s=send_timeout_s)
        self._live = hub
        self.sink = sink
        self.address: str | None = None
        self.selectors: set[Selector] = set()
        self.channels: set[Channel] = set()
        # `bundle`: trades and candles come in one frame per flush
        self._bundle = False
        self.signature: tuple[frozenset[Selector], frozenset[Channel]] = (frozenset(), frozenset())

    def __repr__(self) -> str:
        return f"LiveClient({self.id})"

    @property
    def bundle(self) -> bool:
        return self._bundle

    @bundle.setter
    def bundle(self, value: bool) -> None:
        self._bundle = value
        self._live.subscriptions_changed(self)

    # -- subscriptions ----------------------------------------------------------------

    def wants(self, channel: Channel, exchange: str, symbol: str) -> bool:
        return channel in self.channels and any(s.matches(exchange, symbol) for s in self.selectors)

    def handle_text(self, text: str) -> None:
        """A message from the client; a bad one gets an error and changes nothing."""
        try:
            data = json.loads(text)
        except ValueError:
            self.send(StreamError(field="message", detail="not JSON"))
            return
        self.handle(data)

    def handle(self, data: Any) -> None:
        try:
            request = StreamRequest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first.get("loc") else "message"
            self.send(StreamError(field=field, detail=first.get("msg", "invalid")))
            return
        self.apply(request)

    def apply(self, request: StreamRequest) -> None:
        if request.op == "ping":
            self.send(StreamPong())
            return
        try:
            selectors = {parse_selector(s) for s in request.instruments}
        except ValueError as exc:
            self.send(StreamError(field="instruments", detail=str(exc)))
            return
        channels = set(request.channels)
        if request.op == "subscribe" and len(self.selectors | selectors) > MAX_SELECTORS:
            self.send(
                StreamError(field="instruments", detail=f"at most {MAX_SELECTORS} instruments")
            )
            return
        self._live.flush_for(self)  # what came before the change goes as subscribed before
        if request.op == "subscribe":
            self.selectors |= selectors
            # without channels: keep those chosen, or take trades and candles if none is
            added = channels or (
                set() if self.channels & DEFAULT_CHANNELS else set(DEFAULT_CHANNELS)
            )
            new_status = "status" in added and "status" not in self.channels
            self.channels |= added
        else:
            if not selectors and not channels:
                self.selectors.clear()
                self.channels.clear()
            self.selectors -= selectors
            self.channels -= channels
            new_status = False
        self.signature = (frozenset(self.selectors), frozenset(self.channels))
        self._live.subscriptions_changed(self)
        self.send_subscriptions()
        if new_status:
            for status in self._live.statuses.values():
                self.send(StreamStatus(status=SourceStatusOut.of(status)))

    def send_subscriptions(self) -> None:
        self.send(
            StreamSubscriptions(
                instruments=sorted(str(s) for s in self.selectors),
                channels=[c for c in CHANNELS if c in self.channels],
            )
        )

    # -- sending ----------------------------------------------------------------------

    def send(self, message: BaseModel) -> None:
        self.offer(message.model_dump_json())

    def offer(self, text: str) -> None:
        """A message for this client now (after what its hub holds, on the fast path)."""
        if self.sink is None:
            super().offer(text)
            return
        if self.closed.is_set():
            return
        self._live.flush_for(self)
        self.write(text_frame(text), frames=1)

    def write(self, data: bytes, *, frames: int, now: float | None = None) -> None:
        """Whole frames to the fast path; a client too slow to take them is dropped."""
        assert self.sink is not None
        if self.closed.is_set():
            return
        reason = self.sink.write(data, self._live.now() if now is None else now)
        if reason is not None:
            self._live._drop(self, reason)
        else:
            self._live.stats.sent += frames

    async def _shut(self, code: int, reason: str) -> None:
        await super()._shut(code, reason)
        if self.sink is not None and code == CLOSE_POLICY and self.sink.buffered():
            self.sink.abort()  # what waits for a client too slow to read it goes
