"""One WebSocket connection of a venue and the task reading it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

# Venues ping (Binance every 20 s) and drop a client that does not pong in time; the
# library pongs by itself. Our own keepalive pings notice a dead connection as fast.
KEEPALIVE_S: Final = 20.0
CONNECT_ERRORS: Final = (OSError, TimeoutError, WebSocketException)


async def open_stream(url: str, *, open_timeout: float) -> ClientConnection:
    return await connect(
        url, ping_interval=KEEPALIVE_S, ping_timeout=KEEPALIVE_S, open_timeout=open_timeout
    )


@dataclass(eq=False)
class StreamLink:
    """A connection, its reader task, and when to replace it."""

    number: int
    ws: ClientConnection
    reader: asyncio.Task[str] | None = None
    frames: int = 0
    first_frame: asyncio.Event = field(default_factory=asyncio.Event)
    rotate: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None

    def rotate_in(self, seconds: float) -> None:
        """Ask for a replacement in `seconds` (ahead of a venue's forced cut)."""
        if self.timer is not None:
            self.timer.cancel()
        self.rotate.clear()
        self.timer = asyncio.get_running_loop().call_later(seconds, self.rotate.set)

    async def close(self, *, stop_reader: bool = False) -> None:
        """Close the connection; the reader drains what was received unless stopped."""
        if self.timer is not None:
            self.timer.cancel()
        if self.reader is not None and stop_reader:
            self.reader.cancel()
        await self.ws.close()
        if self.reader is not None:
            await asyncio.wait({self.reader})
            if not self.reader.cancelled() and (exc := self.reader.exception()) is not None:
                raise exc
