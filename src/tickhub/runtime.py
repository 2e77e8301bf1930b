"""What a running tickhub process holds. Private to the composition roots: built and read
only by `bootstrap.py` and `app.py` (and tests, which compose their own). The web app
gets it through `create_app(runtime=...)` and puts on `app.state` only the parts routers
need (engine, bus, live hub, a read-only pipeline status), each behind a typed dependency;
nothing else imports this module."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.bus import Bus
from tickhub.common.time import now_us
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.store.writer import Writer
from tickhub.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    bus: Bus
    tracker: Tracker | None = None
    writer: Writer | None = None
    live: LiveHub | None = None  # WebSocket fan-out; started by the web app's lifespan
    started_at: int = field(default_factory=now_us)
