"""What a service process is built of: the bus, the sources, the tracker, the writer, the
database (migrated), the web server's configuration."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.bootstrap._heap import settle_heap
from tickhub.bus import Bus
from tickhub.bus import make_bus as bus_from_url
from tickhub.bus.deadletter import DeadLetterFile
from tickhub.bus.memory import MemoryBus
from tickhub.db import create_engine, short_error, when_reachable
from tickhub.gateway import logging_config
from tickhub.marketdata.ingest.sim import SimSource
from tickhub.marketdata.ingest.source import Source
from tickhub.marketdata.ingest.tracker import Tracker
from tickhub.marketdata.store.uow import MarketDataUnitOfWork
from tickhub.marketdata.store.writer import Writer
from tickhub.messages import message_codec
from tickhub.migrate import upgrade
from tickhub.settings import Settings

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


class ServingServer(uvicorn.Server):
    """A uvicorn server that, once it serves, takes start-up's heap out of the garbage
    collector's full collections (`settle_heap`)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # the app is built and its lifespan has started: it serves
            settle_heap()


class QuietServer(ServingServer):
    """A serving server that leaves SIGINT and SIGTERM to tickhub: uvicorn's own handler
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
    """A writer consuming trade batches, rejected frames and CoinMarketCap data.

    Writes to SQLite are paced (`write_interval_s`) only on the in-process bus: a paced
    writer takes an interval's batches at once, as that many consumers, which is a task
    each here but would be a broker channel each on RabbitMQ."""
    writer = Writer(
        engine,
        capture_interval_s=settings.capture_interval,
        publish=bus.publish,
        write_interval_s=settings.write_interval_s if isinstance(bus, MemoryBus) else 0.0,
    )
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


DATABASE_STARTUP_WAIT_S = 120.0
"""How long a service starting waits for an unreachable database (one restarting, or not
up yet beside it) before it gives up."""


@contextlib.asynccontextmanager
async def database(
    settings: Settings, *, migrate: bool, wait_s: float = DATABASE_STARTUP_WAIT_S
) -> AsyncIterator[AsyncEngine]:
    """The configured database's engine, its schema migrated to the latest first when
    `migrate` (waiting up to `wait_s` for a database that cannot be reached yet); disposed
    when the block ends."""
    engine = create_engine(settings.resolved_database_url)
    try:
        if migrate:
            await when_reachable(
                lambda: upgrade(engine),
                initial_s=0.5,
                max_s=5.0,
                within_s=wait_s,
                on_retry=lambda exc, delay: log.warning(
                    "database unavailable at start (%s); retrying in %.1f s",
                    short_error(exc),
                    delay,
                ),
            )
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
    which is migrated, then the trades go through a writer, and the planner's statistics
    are refreshed when something new was stored; returns the summary line."""
    from tickhub.marketdata.ingest.bulk import run_import
    from tickhub.marketdata.ingest.importer import TradeReader
    from tickhub.marketdata.store.planner import refresh_planner_statistics

    reader = TradeReader(path, fmt=fmt)
    async with database(settings, migrate=True) as engine:
        writer = Writer(engine, capture_interval_s=settings.capture_interval)
        summary = await run_import(reader, writer, exchange=exchange, symbol=symbol)
        if writer.stats.new:
            await refresh_planner_statistics(engine)
        return summary


async def replay_dead_letters(settings: Settings) -> tuple[int, int]:
    """`tickhub deadletter replay`: the writer's dead letters go through a writer again;
    returns (written, kept). What fails again stays in the file, with its new error."""
    letters = dead_letter_file(settings)
    async with database(settings, migrate=True) as engine:
        writer = Writer(engine, capture_interval_s=settings.capture_interval)
        return await letters.replay("writer", writer.handle)
