"""What the WebSocket streams (`/v1/stream`, `/v1/alerts/stream`) share: a client with a
bounded send queue and its own sender task, the hub side that lets clients go, and the
endpoint plumbing.

A hub offers each message to a client without waiting; the client's sender sends them one
by one, each within a send timeout. A client whose queue is full or whose send times out is
too slow: it is dropped and closed with 1008, so it slows neither the other clients nor
the bus. A client whose connection fails is closed with 1011.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from tickhub.problems import problem

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008  # policy violation: too slow to read (or, for alerts, too many streams)
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_LATER = 1013


class Connection(Protocol):
    """What a client needs of a WebSocket (Starlette's satisfies it)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


Receive = Callable[[], Awaitable[str | None]]
"""The next text message of a client, or None once it has disconnected."""


@dataclass
class StreamStats:
    connected: int = 0
    sent: int = 0
    dropped_slow: int = 0
    flushes: int = 0  # a hub's ticks that sent something
    flush_cpu_s: float = 0.0  # the CPU time of those ticks
    flush_writes: int = 0  # the writes to clients' sockets they made


class QueuedClient(ABC):
    """One WebSocket: its bounded queue and its sender task. A subclass reads what the
    client sends (`handle_text`); its hub decides what dropping it means."""

    kind: ClassVar[str]
    """Names the client's tasks (`<kind>:send:<id>`)."""
    _ids: ClassVar[Iterator[int]] = count(1)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ids = count(1)  # each kind numbers its own clients

    def __init__(
        self, hub: StreamHub[Any], conn: Connection, *, queue_size: int, send_timeout_s: float
    ) -> None:
        self.id = next(self._ids)
        self._hub = hub
        self._conn = conn
        self._timeout = send_timeout_s
        self._queue_size = queue_size
        self._queue: asyncio.Queue[str] | None = None
        self.closed = asyncio.Event()
        self.close_reason: str | None = None
        # the queue and the sender come with the first message (a client on a hub's fast
        # path never needs them)
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @abstractmethod
    def handle_text(self, text: str) -> None:
        """A message from the client."""

    def offer(self, text: str) -> None:
        """Queue a message without waiting; a full queue means the client is too slow."""
        if self.closed.is_set():
            return
        if self._queue is None:
            self._queue = asyncio.Queue(self._queue_size)
            self._sender = asyncio.create_task(
                self._send_loop(self._queue), name=f"{self.kind}:send:{self.id}"
            )
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            self._hub._drop(self, "too slow: its send queue is full")

    async def _send_loop(self, queue: asyncio.Queue[str]) -> None:
        # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` can swallow the
        # cancellation that `close` sends when the send completes at the same moment.
        while not self.closed.is_set():
            text = await queue.get()
            try:
                async with asyncio.timeout(self._timeout):
                    await self._conn.send_text(text)
            except TimeoutError:
                self._hub._drop(self, f"too slow: a send took over {self._timeout:g} s")
                return
            except Exception as exc:  # the connection is gone, however it failed
                self._hub._drop(self, f"send failed: {type(exc).__name__}", slow=False)
                return
            self._hub.stats.sent += 1

    async def serve(self, receive: Receive) -> None:
        """Handle the client's messages until it disconnects or is dropped."""
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            while not self.closed.is_set():
                incoming = asyncio.ensure_future(receive())
                await asyncio.wait({incoming, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not incoming.done():
                    incoming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await incoming
                    return
                text = incoming.result()
                if text is None:
                    return
                self.handle_text(text)
        finally:
            closed.cancel()

    def close(self, code: int, reason: str) -> None:
        """Stop sending and close the connection (in the background; see `wait_closed`)."""
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        self._closer = asyncio.create_task(
            self._shut(code, reason), name=f"{self.kind}:close:{self.id}"
        )

    async def _shut(self, code: int, reason: str) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        # A client too slow to read our data will not read a close frame either: try
        # briefly, then let the server drop the connection when the endpoint returns.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(min(self._timeout, 1.0)):
                await self._conn.close(code, reason)

    async def wait_closed(self) -> None:
        if self._closer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer


C = TypeVar("C", bound=QueuedClient)


class StreamHub(ABC, Generic[C]):
    """The clients' side of a hub: serving one, and letting one or all go. A subclass keeps
    the clients (`_all_clients`, `_remove`) and says whom it logs about (`noun`, `_log`)."""

    noun: ClassVar[str]
    """How a dropped client is named in the log (`dropping <noun> <id>: <reason>`)."""
    _log: ClassVar[logging.Logger]
    stats: StreamStats

    def __init__(self, *, queue_size: int, send_timeout_s: float) -> None:
        self._queue_size = queue_size
        self._send_timeout = send_timeout_s

    @abstractmethod
    def _all_clients(self) -> list[C]: ...

    @abstractmethod
    def _remove(self, client: C) -> None:
        """Forget the client (if it is still known) and count it out of `stats.connected`."""

    async def serve(self, client: C, receive: Receive) -> None:
        """Handle the client's messages until it leaves or is dropped, then let it go."""
        try:
            await client.serve(receive)
        finally:
            await self.disconnect(client)

    async def disconnect(self, client: C) -> None:
        """The client's session has ended (it left, or the hub dropped it)."""
        self._remove(client)
        client.close(CLOSE_NORMAL, "bye")
        await client.wait_closed()

    async def _close_all(self) -> None:
        clients = self._all_clients()
        for client in clients:
            self._remove(client)
            client.close(CLOSE_GOING_AWAY, "server shutting down")
        for client in clients:
            await client.wait_closed()

    def _drop(self, client: C, reason: str, *, slow: bool = True) -> None:
        if client.closed.is_set():
            return
        if slow:
            self.stats.dropped_slow += 1
            self._log.warning("dropping %s %s: %s", self.noun, client.id, reason)
        self._remove(client)
        client.close(CLOSE_POLICY if slow else CLOSE_INTERNAL_ERROR, reason)


# ---------------------------------------------------------------- endpoint plumbing


def receiver(websocket: WebSocket) -> Receive:
    """The client's next text message (bytes decoded as UTF-8), or None once it is gone."""

    async def receive() -> str | None:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):  # the connection is already gone
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            text = bytes(message.get("bytes") or b"").decode("utf-8", "replace")
        return str(text)

    return receive


def upgrade_required(path: str) -> Response:
    """The answer to a plain HTTP request for the WebSocket at `path`."""
    return problem(
        426,
        "Upgrade Required",
        f"{path} is a WebSocket: connect with ws:// or wss://",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )
