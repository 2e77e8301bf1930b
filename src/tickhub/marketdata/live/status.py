"""What this process's market-data pipeline reports, read-only, for the routes and the
metrics: source states and the tracker's, writer's and live hub's counters. The
composition root builds it from the parts it runs (`app.py` puts it on `app.state`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tickhub.marketdata.events import SourceStatus
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.store.writer import Writer, WriterStats
from tickhub.websocket import StreamStats


@dataclass(frozen=True, slots=True)
class TrackerFigures:
    published: int  # trades published
    rejected: int  # frames a source could not parse
    statuses: dict[str, SourceStatus]  # by source name
    buffered: int = 0  # trades and events held, not yet on the bus
    backpressure_waits: int = 0  # times a source waited for room in the buffer
    restarts: int = 0  # sources restarted after a failure


class Pipeline(Protocol):
    """The parts of a process's pipeline, as they are now (a part may come later)."""

    @property
    def tracker(self) -> Tracker | None: ...

    @property
    def writer(self) -> Writer | None: ...

    @property
    def live(self) -> LiveHub | None: ...


class PipelineStatus:
    """The tracker, writer and live hub of this process, as far as it runs them (a
    `tickhub api` process runs none of the first two), read when asked."""

    def __init__(self, parts: Pipeline | None = None) -> None:
        self._parts = parts

    def sources(self) -> list[SourceStatus]:
        """Each source's state by name: as the tracker of this process last reported it,
        else as the live hub last heard it on the bus."""
        parts = self._parts
        if parts is not None and parts.tracker is not None:
            statuses = parts.tracker.statuses
        elif parts is not None and parts.live is not None:
            statuses = parts.live.statuses
        else:
            statuses = {}
        return sorted(statuses.values(), key=lambda s: s.source)

    @property
    def tracker(self) -> TrackerFigures | None:
        t = None if self._parts is None else self._parts.tracker
        if t is None:
            return None
        return TrackerFigures(
            t.published,
            t.rejected,
            dict(t.statuses),
            t.buffered,
            t.backpressure_waits,
            sum(t.restarts.values()),
        )

    @property
    def writer(self) -> WriterStats | None:
        w = None if self._parts is None else self._parts.writer
        return None if w is None else w.stats

    @property
    def live(self) -> StreamStats | None:
        hub = None if self._parts is None else self._parts.live
        return None if hub is None else hub.stats
