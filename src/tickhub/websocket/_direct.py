"""The fast path of a WebSocket stream: complete frames written straight to the socket.

A server's frames are not masked, so the bytes of a text frame (header and UTF-8 payload)
are the same for every client that receives it: a hub builds them once (`text_frame`) and
writes each client's pending frames in one `transport.write`. That skips, per client and
per message, the ASGI send chain (Starlette → uvicorn → websockets' framing → transport),
which at a thousand messages a second to a thousand clients is more than one core can do.

This is safe only with a server whose own writes are whole frames, each written in one
synchronous call: uvicorn's `websockets-sansio` protocol (its default with `websockets`
installed) writes `b"".join(conn.data_to_send())` once per event, so our frames never land
inside one of its frames. `find_sink` recognises that protocol and nothing else; any other
server (or Starlette's TestClient) gets None, and the client goes through ASGI `send`.

The original ASGI `send` is uvicorn's protocol's bound method, but middleware wraps it for
websocket scopes (Starlette's exception middleware does); `RawSend`, the outermost layer,
records it in the scope before anyone wraps it.

While a client's transport is behind (its buffer past 64 KiB, asyncio's high-water mark),
its frames are held as the hub's own bytes objects, shared with every other client, and
written once it has caught up: the transport's buffer would copy them for each client
(a bytearray on Python 3.11). A client with more than `max_buffer` bytes unsent (held and
buffered), or behind for longer than the send timeout, is too slow, and its hub drops it
(1008) as it would on the ASGI path.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND_KEY = "tickhub.raw_send"
BEHIND_BYTES = 64 * 1024  # asyncio's default high-water mark: the transport pauses the app
_SANSIO = ("uvicorn.protocols.websockets.websockets_sansio_impl", "WebSocketsSansIOProtocol")
_OP_TEXT = 0x81  # FIN + text
_OP_CLOSE = 0x88  # FIN + close


def _frame(first: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


def text_frame(text: str | bytes) -> bytes:
    """One unmasked, unfragmented text frame, as a server sends it."""
    return _frame(_OP_TEXT, text.encode() if isinstance(text, str) else text)


def close_frame(code: int, reason: str = "") -> bytes:
    return _frame(_OP_CLOSE, struct.pack("!H", code) + reason.encode()[:123])


class RawSend:
    """Outermost ASGI layer: records a websocket scope's `send` before middleware wraps it,
    so that the stream endpoint can find the server's protocol (`find_sink`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)


class DirectSink:
    """Writes whole frames to one client's transport and watches its write buffer."""

    def __init__(
        self, protocol: Any, transport: asyncio.Transport, *, max_buffer: int, timeout_s: float
    ) -> None:
        self._protocol = protocol
        self._transport = transport
        self.max_buffer = max_buffer
        self.timeout_s = timeout_s
        self.behind_since: float | None = None
        # what waits while the transport is behind: the hub's own bytes objects, shared
        # with the other clients (the transport's buffer would copy them for each client)
        self.held: list[bytes] = []
        self._held_bytes = 0

    @property
    def open(self) -> bool:
        """False once the close handshake began or the connection is gone."""
        p = self._protocol
        return not (p.close_sent or p.disconnected or self._transport.is_closing())

    def buffered(self) -> int:
        """Bytes not sent yet: the transport's buffer and what is held."""
        return self._transport.get_write_buffer_size() + self._held_bytes

    def write(self, data: bytes, now: float) -> str | None:
        """Write `data` (whole frames), or hold it while the transport is behind (what was
        held goes first once it is not: `write(b"", now)` tries again); None, or why the
        client is too slow to keep."""
        if not self.open:
            return None  # the endpoint sees the disconnect through its receive
        size = self._transport.get_write_buffer_size()
        if data and (self.held or size > BEHIND_BYTES):
            self.held.append(data)
            self._held_bytes += len(data)
        if self.held and size <= BEHIND_BYTES:
            data = b"".join(self.held)
            self.held.clear()
            self._held_bytes = 0
        if data and not self.held:
            self._transport.write(data)
            size = self._transport.get_write_buffer_size()
        if size + self._held_bytes <= BEHIND_BYTES:
            self.behind_since = None
            return None
        if size + self._held_bytes > self.max_buffer:
            return f"too slow: over {self.max_buffer} bytes wait to be sent"
        if self.behind_since is None:
            self.behind_since = now
        elif now - self.behind_since > self.timeout_s:
            return f"too slow: behind for over {self.timeout_s:g} s"
        return None

    def abort(self) -> None:
        """Drop the connection and what waits in its buffer (a client too slow to read
        will not read a close frame either)."""
        self._transport.abort()


def find_sink(scope: Mapping[str, Any], *, max_buffer: int, timeout_s: float) -> DirectSink | None:
    """The fast path to the client of this websocket scope, once accepted; None when the
    server is not one whose frames we may write between (see the module's docstring)."""
    send = scope.get(RAW_SEND_KEY)
    protocol = getattr(send, "__self__", None)
    if protocol is None:
        return None
    cls = type(protocol)
    if (cls.__module__, cls.__qualname__) != _SANSIO:
        return None
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, asyncio.Transport) or protocol.initial_response is not None:
        return None
    return DirectSink(protocol, transport, max_buffer=max_buffer, timeout_s=timeout_s)
