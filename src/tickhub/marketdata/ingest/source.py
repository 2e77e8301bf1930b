"""What every source (venue connector, simulator) implements, and what it talks to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from tickhub.marketdata.events import (
    CmcGlobalMetrics,
    CmcListings,
    RejectedFrame,
    SourceStatus,
    TradeBatch,
)

SourceEvent = CmcListings | CmcGlobalMetrics
"""What a source publishes besides trades (to the writers, unbuffered)."""


class TradeSink(Protocol):
    """Where a source sends what it receives. The tracker implements it.

    A source calls `trades` with trades of one instrument in the venue's order; a batch
    may hold one trade (a WebSocket frame) or many (a REST page). Duplicates are allowed:
    storage is idempotent.
    """

    async def trades(self, batch: TradeBatch) -> None: ...

    async def status(self, status: SourceStatus) -> None: ...

    async def reject(self, frame: RejectedFrame) -> None: ...

    async def publish(self, event: SourceEvent) -> None:
        """Publish an event at once, on its own topic; raises when the bus refuses it."""
        ...


class Source(Protocol):
    """A venue connector or a simulator. `run` returns only when cancelled."""

    name: str
    exchange: str
    simulated: bool

    async def run(self, sink: TradeSink) -> None: ...


ResumePoints = Mapping[str, int]
"""Last stored trade id per symbol: a connector backfills from there after a restart."""
