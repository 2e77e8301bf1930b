"""The composition root for the long-running services: it builds engines, buses, sources,
the writer and the tracker and wires them together. `cli.py` is a thin layer over it.

    tickhub up        tracker + writer + API in one process (any bus)
    tickhub tracker   sources → bus              (distributed mode)
    tickhub writer    bus → database             (distributed mode; start as many as needed)
    tickhub scanner   strategies → alerts        (distributed mode; start as many as needed)
    tickhub market-engine  launched sessions → clearings (distributed mode; as many as needed)
    tickhub api       database + bus → HTTP/WebSocket
    tickhub import    trade file → writer → database

Engines are built and migrations run here (and in `cli.py`), never in a context.
"""

from __future__ import annotations

import asyncio

from tickhub.bootstrap._lifecycle import (
    PARTITION_MAINTENANCE_EVERY_S,
    Alerting,
    cancel,
    clearing,
    database_check,
    health_port,
    keep_partitions,
    scanning,
    tracker_checks,
    wait_for_stop_signal,
    wait_for_stop_signal_or,
)
from tickhub.bootstrap._parts import (
    MEMORY_BUS_BACKOFF_S,
    MEMORY_BUS_RETRIES,
    WRITER_TOPICS,
    ConfigurationError,
    QuietServer,
    ServingServer,
    build_sources,
    coinmarketcap_source,
    database,
    dead_letter_file,
    declare_writer_queues,
    engine_and_bus,
    import_trades,
    log,
    make_bus,
    make_tracker,
    offline_fallback,
    replay_dead_letters,
    require_shared_bus,
    server_config,
    sim_source,
    start_writer,
)
from tickhub.common.supervise import Supervisor, until_stopped_or_failed
from tickhub.runtime import Runtime
from tickhub.settings import Settings

__all__ = [
    "MEMORY_BUS_BACKOFF_S",
    "MEMORY_BUS_RETRIES",
    "PARTITION_MAINTENANCE_EVERY_S",
    "WRITER_TOPICS",
    "Alerting",
    "ConfigurationError",
    "QuietServer",
    "ServingServer",
    "build_sources",
    "cancel",
    "clearing",
    "coinmarketcap_source",
    "database",
    "database_check",
    "dead_letter_file",
    "declare_writer_queues",
    "engine_and_bus",
    "health_port",
    "import_trades",
    "keep_partitions",
    "make_bus",
    "make_tracker",
    "offline_fallback",
    "replay_dead_letters",
    "require_shared_bus",
    "run_market_engine",
    "run_scanner",
    "run_tracker",
    "run_up",
    "run_writer",
    "scanning",
    "server_config",
    "sim_source",
    "start_writer",
    "tracker_checks",
    "wait_for_stop_signal",
    "wait_for_stop_signal_or",
]


async def run_tracker(settings: Settings) -> None:
    """Sources → bus, until stopped; then what is buffered is published."""
    require_shared_bus(settings, "tracker")
    async with engine_and_bus(settings, migrate=False) as (engine, bus):
        await declare_writer_queues(bus)
        tracker = make_tracker(settings, bus)
        tracker.start(await build_sources(settings, engine))
        log.info("tracker: sources=%s symbols=%s", ",".join(settings.sources),
                 ",".join(settings.symbols))  # fmt: skip
        supervisor = Supervisor()
        if settings.sim_fallback and "sim" not in settings.sources:
            supervisor.spawn(
                "sim-fallback", lambda: offline_fallback(settings, engine, tracker), forever=False
            )
        try:
            async with health_port(settings, tracker_checks(tracker)):
                await until_stopped_or_failed(wait_for_stop_signal(), supervisor)
        finally:
            await supervisor.close()
            await tracker.stop()
            log.info("tracker stopped: %d trades published", tracker.published)


async def run_writer(settings: Settings) -> None:
    """Bus → database, until stopped; messages being handled are finished and acked."""
    require_shared_bus(settings, "writer")
    async with engine_and_bus(settings, migrate=True) as (engine, bus):
        writer = await start_writer(settings, engine, bus)
        supervisor = Supervisor()
        keep_partitions(supervisor, settings, engine)
        log.info("writer: consuming trades from %s", settings.bus_url.split("@")[-1])
        try:
            async with health_port(settings, {"database": database_check(engine)}):
                await until_stopped_or_failed(wait_for_stop_signal(), supervisor)
        finally:
            await supervisor.close()
        log.info(
            "writer stopping: %d trades received, %d new, %d duplicates",
            writer.stats.received,
            writer.stats.new,
            writer.stats.duplicates,
        )


async def run_scanner(settings: Settings) -> None:
    """Strategies → alerts → notifications on every candle close, until stopped; the scan
    in progress is finished first. Scanners are competing consumers: start as many as
    needed (on PostgreSQL; SQLite takes one)."""
    require_shared_bus(settings, "scanner")
    async with engine_and_bus(settings, migrate=True) as (engine, bus):
        async with scanning(settings, engine, bus) as alerting:
            log.info("scanner: evaluating strategies on every candle close (%d worker processes)",
                     settings.scanner.workers)  # fmt: skip
            async with health_port(settings, {"database": database_check(engine)}):
                await until_stopped_or_failed(wait_for_stop_signal(), alerting.supervisor)
        log.info("scanner stopped")


async def run_market_engine(settings: Settings) -> None:
    """Launched market sessions → clearings, until stopped. Competing consumers: start
    as many as needed (on PostgreSQL and RabbitMQ)."""
    require_shared_bus(settings, "market-engine")
    async with engine_and_bus(settings, migrate=True) as (engine, bus):
        async with clearing(settings, engine, bus):
            log.info("market engine: clearing the sessions launched on the bus")
            await wait_for_stop_signal()
        log.info("market engine stopped")


async def run_up(settings: Settings) -> None:
    """Tracker, writer, scanner, market engine and API in one process; Ctrl-C flushes what
    is buffered."""
    from tickhub.app import create_app

    async with engine_and_bus(settings, migrate=True) as (engine, bus):
        writer = await start_writer(settings, engine, bus)
        tracker = make_tracker(settings, bus)
        sources = await build_sources(settings, engine)
        tracker.start(sources)
        supervisor = Supervisor()
        keep_partitions(supervisor, settings, engine)
        if settings.sim_fallback and any(not s.simulated for s in sources):
            supervisor.spawn(
                "sim-fallback", lambda: offline_fallback(settings, engine, tracker), forever=False
            )
        runtime = Runtime(settings=settings, engine=engine, bus=bus, tracker=tracker, writer=writer)
        server = QuietServer(server_config(create_app(runtime=runtime), settings))
        log.info(
            "tickhub up: sources=%s symbols=%s database=%s; API on http://%s:%d (docs at /docs)",
            ",".join(settings.sources) or "none",
            ",".join(settings.symbols),
            engine.url.render_as_string(hide_password=True),
            settings.host,
            settings.port,
        )
        try:
            async with (
                # on exit the scan in progress ends
                scanning(settings, engine, bus, supervisor=supervisor),
                clearing(settings, engine, bus),
            ):
                serving = asyncio.create_task(server.serve())
                try:
                    await until_stopped_or_failed(wait_for_stop_signal_or(serving), supervisor)
                finally:
                    server.should_exit = True  # open connections close, the lifespan ends
                    await serving
        finally:
            log.info("shutting down: flushing buffered trades")
            await supervisor.close()
            await tracker.stop()
    log.info(
        "stopped: %d trades received, %d new, %d stored",
        writer.stats.received,
        writer.stats.new,
        writer.stats.stored,
    )
