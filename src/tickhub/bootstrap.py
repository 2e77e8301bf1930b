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
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.alerts.notifiers import DeliveryWorker, OutboxUnitOfWork
from tickhub.alerts.scanner import Scanner
from tickhub.bus import Bus
from tickhub.bus import make_bus as bus_from_url
from tickhub.bus.deadletter import DeadLetterFile
from tickhub.common.health import Check, HealthServer
from tickhub.common.supervise import Supervisor, until_stopped_or_failed
from tickhub.db import create_engine
from tickhub.gateway import logging_config
from tickhub.market.service import Market, build_market
from tickhub.market.worker import ClearingWorker, announcer
from tickhub.marketdata.ingest.sim import SimSource
from tickhub.marketdata.ingest.source import Source
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.partitions import maintain_partitions_forever
from tickhub.marketdata.store.uow import MarketDataUnitOfWork
from tickhub.marketdata.store.writer import Writer
from tickhub.messages import message_codec
from tickhub.migrate import upgrade
from tickhub.runtime import Runtime
from tickhub.settings import Settings

PARTITION_MAINTENANCE_EVERY_S = 3600.0
# The in-memory bus retries a failing handler after 1, 2, 4, 8 and 16 s, then writes the
# message to the dead-letter file (`tickhub deadletter replay` hands it back).
MEMORY_BUS_RETRIES, MEMORY_BUS_BACKOFF_S = 5, 1.0

log = logging.getLogger("tickhub")


def server_config(
    app: Callable[..., Any] | str, settings: Settings, *, workers: int = 1
) -> uvicorn.Config:
    """How `tickhub up` and `tickhub api` serve the web app (an import string names an
    app factory, which each of `workers` processes calls)."""
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        # a worker imports and builds the whole app before it answers the supervisor's
        # pings: on a busy host that can take longer than uvicorn's 5 s
        timeout_worker_healthcheck=60,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=logging_config(settings.log_level),
        access_log=False,  # the gateway writes the access log
        # Forwarded headers are believed from TICKHUB_GATEWAY_TRUSTED_PROXIES alone (the
        # gateway), never from uvicorn's FORWARDED_ALLOW_IPS.
        proxy_headers=False,
        ws_max_size=settings.gateway.ws_max_bytes,
        # The live stream encodes a message once for all its clients; per-message deflate
        # would compress it again for every client (clients that offer it get plain frames).
        ws_per_message_deflate=False,
    )


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to tickhub: uvicorn's own handler
    raises the signal again when the server returns, which would cancel the shutdown of
    the tracker, writer and scanner half-way."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ConfigurationError(Exception):
    """A setting that cannot work; `setting` names it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def dead_letter_file(settings: Settings) -> DeadLetterFile:
    """Where the in-memory bus keeps what it could not deliver."""
    return DeadLetterFile(settings.data_dir / "deadletter" / "bus.jsonl", message_codec())


def make_bus(settings: Settings) -> Bus:
    """The configured bus, coding every context's messages (`tickhub.messages`)."""
    options: dict[str, object] = {}
    if settings.bus_url.startswith("memory://"):
        options = {
            "max_retries": MEMORY_BUS_RETRIES,
            "retry_backoff_s": MEMORY_BUS_BACKOFF_S,
            "dead_letter_file": dead_letter_file(settings),
        }
    else:
        options = {"hold_timeout": settings.bus_hold_s}
    try:
        return bus_from_url(settings.bus_url, codec=message_codec(), **options)
    except ValueError as exc:
        raise ConfigurationError("TICKHUB_BUS_URL", str(exc)) from exc


def require_shared_bus(settings: Settings, service: str) -> None:
    if settings.bus_url.startswith("memory://"):
        raise ConfigurationError(
            "TICKHUB_BUS_URL",
            f"`tickhub {service}` runs apart from the other services, so it needs a shared "
            "bus: set TICKHUB_BUS_URL=amqp://user:pass@host:5672/ (or run `tickhub up`)",
        )


async def build_sources(settings: Settings, engine: AsyncEngine) -> list[Source]:
    """The configured sources, each resuming after the last trade id stored for it."""
    sources: list[Source] = []
    for name in settings.sources:
        exchange = name.removeprefix("ccxt:")
        async with MarketDataUnitOfWork(engine) as tx:
            resume = await tx.reads.last_trade_ids(exchange)
        if name == "binance":
            from tickhub.marketdata.ingest.binance.source import BinanceSource

            symbols = _venue_symbols(settings, name)
            sources.append(BinanceSource(settings.binance, symbols, resume=resume))
        elif name == "coinbase":
            from tickhub.marketdata.ingest.coinbase import CoinbaseSource

            symbols = _venue_symbols(settings, name)
            sources.append(CoinbaseSource(settings.coinbase, symbols, resume=resume))
        elif name.startswith("ccxt:") and exchange:
            from tickhub.marketdata.ingest.ccxt import CcxtSource

            symbols = _venue_symbols(settings, name)
            try:
                sources.append(CcxtSource(settings.ccxt, exchange, symbols, resume=resume))
            except ValueError as exc:
                raise ConfigurationError("TICKHUB_SOURCES", str(exc)) from exc
        elif name == "sim":
            sources.append(sim_source(settings, resume))
        elif name == "coinmarketcap":
            sources.append(coinmarketcap_source(settings))
        else:
            raise ConfigurationError(
                "TICKHUB_SOURCES",
                f"unknown source {name!r}: this version offers binance, coinbase, "
                "ccxt:<exchange id>, coinmarketcap and sim",
            )
    return sources


def _venue_symbols(settings: Settings, source: str) -> list[str]:
    symbols = settings.venue_symbols(source)
    if not symbols:
        raise ConfigurationError(
            "TICKHUB_SYMBOLS",
            f"the {source} source has no symbols: add entries `{source}:SYMBOL` in the "
            "venue's own spelling (a bare entry is Binance's)",
        )
    return symbols


def sim_source(settings: Settings, resume: dict[str, int]) -> SimSource:
    return SimSource(
        settings.bare_symbols,
        rate=settings.sim.rate,
        seed=settings.sim.seed,
        batch_interval_s=settings.sim.batch_interval_s,
        first_ids=resume,
    )


def coinmarketcap_source(settings: Settings) -> Source:
    from tickhub.marketdata.coinmarketcap.source import CoinMarketCapSource

    if not settings.cmc.api_key.get_secret_value().strip():
        raise ConfigurationError(
            "TICKHUB_CMC_API_KEY",
            "the coinmarketcap source needs a CoinMarketCap Pro API key: set "
            "TICKHUB_CMC_API_KEY (or take coinmarketcap out of TICKHUB_SOURCES)",
        )
    return CoinMarketCapSource(settings.cmc, settings.bare_symbols)


def make_tracker(settings: Settings, bus: Bus) -> Tracker:
    return Tracker(
        bus, max_trades=settings.batch_max_trades, max_delay_s=settings.batch_max_delay_s
    )


WRITER_TOPICS = ("trades.#", "rejects.#", "cmc.*")


async def declare_writer_queues(bus: Bus) -> None:
    """The writers' queues exist before the first trade is published, even when no writer
    has started yet: a topic exchange drops what no queue is bound to."""
    for pattern in WRITER_TOPICS:
        await bus.declare(pattern, group="writer")


async def start_writer(settings: Settings, engine: AsyncEngine, bus: Bus) -> Writer:
    """A writer consuming trade batches, rejected frames and CoinMarketCap data."""
    writer = Writer(engine, capture_interval_s=settings.capture_interval, publish=bus.publish)
    for _ in range(writer.consumers(settings.writer_concurrency)):
        await bus.subscribe(WRITER_TOPICS[0], writer.handle, group="writer")
    for pattern in WRITER_TOPICS[1:]:
        await bus.subscribe(pattern, writer.handle, group="writer")
    return writer


async def offline_fallback(settings: Settings, engine: AsyncEngine, tracker: Tracker) -> None:
    """Start the simulated market when no live source connects in time."""
    try:
        await asyncio.wait_for(tracker.connected.wait(), settings.offline_after_s)
        return
    except TimeoutError:
        pass
    log.warning(
        "No live source connected within %.0f s (no internet?). Starting the SIMULATED "
        "market beside it: exchange 'sim', labelled simulated in the API. "
        "Set TICKHUB_SIM_FALLBACK=false to turn this off.",
        settings.offline_after_s,
    )
    async with MarketDataUnitOfWork(engine) as tx:
        resume = await tx.reads.last_trade_ids("sim")
    tracker.add(sim_source(settings, resume))


@contextlib.asynccontextmanager
async def database(settings: Settings, *, migrate: bool) -> AsyncIterator[AsyncEngine]:
    """The configured database's engine, its schema migrated to the latest first when
    `migrate`; disposed when the block ends."""
    engine = create_engine(settings.resolved_database_url)
    try:
        if migrate:
            await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def engine_and_bus(
    settings: Settings, *, migrate: bool
) -> AsyncIterator[tuple[AsyncEngine, Bus]]:
    async with database(settings, migrate=migrate) as engine:
        bus = make_bus(settings)
        await bus.start()
        try:
            yield engine, bus
        finally:
            await bus.close()


async def import_trades(
    settings: Settings, path: Path, *, exchange: str, symbol: str, fmt: str | None = None
) -> str:
    """`tickhub import`: the file is opened (and its format checked) before the database,
    which is migrated, then the trades go through a writer; returns the summary line."""
    from tickhub.marketdata.ingest.bulk import run_import
    from tickhub.marketdata.ingest.importer import TradeReader

    reader = TradeReader(path, fmt=fmt)
    async with database(settings, migrate=True) as engine:
        writer = Writer(engine, capture_interval_s=settings.capture_interval)
        return await run_import(reader, writer, exchange=exchange, symbol=symbol)


async def replay_dead_letters(settings: Settings) -> tuple[int, int]:
    """`tickhub deadletter replay`: the writer's dead letters go through a writer again;
    returns (written, kept). What fails again stays in the file, with its new error."""
    letters = dead_letter_file(settings)
    async with database(settings, migrate=True) as engine:
        writer = Writer(engine, capture_interval_s=settings.capture_interval)
        return await letters.replay("writer", writer.handle)


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


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
