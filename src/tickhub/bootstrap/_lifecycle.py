"""How a service process lives and stops: stop signals, the health port and its checks, and
the background work that runs beside the pipeline (partitions, scanning, clearing)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.alerts.notifiers import DeliveryWorker, OutboxUnitOfWork
from tickhub.alerts.scanner import Scanner
from tickhub.bootstrap._parts import log
from tickhub.bus import Bus
from tickhub.common.health import Check, HealthServer
from tickhub.common.supervise import Supervisor
from tickhub.market.service import Market, build_market
from tickhub.market.worker import ClearingWorker, announcer
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.partitions import maintain_partitions_forever
from tickhub.settings import Settings


async def wait_for_stop_signal() -> None:
    """Return on SIGINT or SIGTERM (Ctrl-C, `docker stop`, `kill`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def database_check(engine: AsyncEngine) -> Check:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def tracker_checks(tracker: Tracker) -> dict[str, Check]:
    async def bus() -> None:
        if not tracker.bus_ok:
            raise ConnectionError("the last publish failed")

    async def buffer() -> None:
        if tracker.full:
            raise BufferError("the buffer is full: sources are waiting")

    return {"bus": bus, "buffer": buffer}


@contextlib.asynccontextmanager
async def health_port(settings: Settings, checks: dict[str, Check]) -> AsyncIterator[None]:
    """`/healthz` and `/readyz` on `TICKHUB_HEALTH_PORT` while the block runs (not at 0)."""
    if not settings.health_port:
        yield
        return
    server = HealthServer(checks, host=settings.host, port=settings.health_port)
    try:
        await server.start()
    except OSError as exc:  # e.g. two services on one host with the same port
        log.error(
            "health port %s:%d unavailable (%s): /healthz and /readyz are not served; "
            "give each service on this host its own TICKHUB_HEALTH_PORT",
            settings.host,
            settings.health_port,
            exc.strerror or exc,
        )
        yield
        return
    try:
        yield
    finally:
        await server.close()


async def wait_for_stop_signal_or(task: asyncio.Task[None]) -> None:
    """Return on SIGINT or SIGTERM, or when `task` ends (the web server stopped)."""
    stop = asyncio.create_task(wait_for_stop_signal())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel(stop)


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


PARTITION_MAINTENANCE_EVERY_S = 3600.0


def keep_partitions(supervisor: Supervisor, settings: Settings, engine: AsyncEngine) -> None:
    """The partition keeper, supervised (it returns at once on SQLite)."""
    supervisor.spawn(
        "partition-keeper",
        lambda: maintain_partitions_forever(engine, settings, PARTITION_MAINTENANCE_EVERY_S),
        forever=False,
    )


@dataclass(frozen=True, slots=True)
class Alerting:
    scanner: Scanner
    delivery: DeliveryWorker
    supervisor: Supervisor


@contextlib.asynccontextmanager
async def scanning(
    settings: Settings,
    engine: AsyncEngine,
    bus: Bus,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    supervisor: Supervisor | None = None,
) -> AsyncIterator[Alerting]:
    """The scanner and the delivery worker that sends its alerts, running until the block
    ends; then the scan in progress finishes and the deliveries in flight are recorded
    (an unsent one stays in the outbox for the next start). `clock` and `sleep` drive the
    scanner's minute boundaries. Both run under `supervisor` (restarted when they fail;
    see `Supervisor.failed`)."""
    worker = DeliveryWorker(OutboxUnitOfWork.factory(engine), settings)
    scanner = Scanner(
        engine,
        settings.scanner,
        publish=bus.publish,
        on_alerts=worker.wake,
        clock=clock,
        sleep=sleep,
    )
    supervisor = supervisor or Supervisor()
    delivering = supervisor.spawn("delivery-worker", worker.run)
    scan = supervisor.spawn("scanner", scanner.run, forever=False)
    try:
        yield Alerting(scanner, worker, supervisor)
    finally:
        scanner.stop()
        await asyncio.gather(scan, return_exceptions=True)
        await cancel(delivering)
        await worker.aclose()


@contextlib.asynccontextmanager
async def clearing(settings: Settings, engine: AsyncEngine, bus: Bus) -> AsyncIterator[Market]:
    """The market engine's worker, clearing the sessions launched on `bus` until the
    block ends."""
    market = build_market(settings.market, engine, announce=announcer(bus))
    worker = ClearingWorker(market)
    await worker.start(bus)
    try:
        yield market
    finally:
        await worker.stop()
