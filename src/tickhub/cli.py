"""The `tickhub` command line (Typer). A composition root: it builds engines, buses,
sources and the web app, and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.app import create_app
from tickhub.bus import Bus, MemoryBus
from tickhub.db import create_engine
from tickhub.gateway import logging_config
from tickhub.marketdata.repository import MarketDataRepository
from tickhub.marketdata.sources.base import Source
from tickhub.marketdata.sources.sim import SimSource
from tickhub.marketdata.tracker import Tracker
from tickhub.marketdata.writer import Writer
from tickhub.migrate import upgrade
from tickhub.runtime import Runtime
from tickhub.settings import Settings

app = typer.Typer(
    help="tickhub: crypto market data hub and trading-bot backend.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
admin_app = typer.Typer(help="Administrators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")

log = logging.getLogger("tickhub")


def main() -> None:
    try:
        app()
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        # Settings that cannot be used (e.g. production without a signing key): say which.
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "settings"
            typer.echo(f"tickhub: {where}: {error['msg']}", err=True)
        raise SystemExit(2) from None


def _setup_logging(settings: Settings) -> None:
    # Every handler redacts secrets; uvicorn gets the same config (its access log is off:
    # the gateway writes one JSON line per request on `tickhub.access`).
    logging.config.dictConfig(logging_config(settings.log_level))


def _make_bus(settings: Settings) -> Bus:
    if settings.bus_url.startswith("memory://"):
        return MemoryBus()
    raise typer.BadParameter(
        f"TICKHUB_BUS_URL={settings.bus_url!r}: this version runs the in-memory bus only "
        "(memory://)",
        param_hint="TICKHUB_BUS_URL",
    )


async def _build_sources(settings: Settings, engine: AsyncEngine) -> list[Source]:
    sources: list[Source] = []
    for name in settings.sources:
        async with engine.connect() as conn:
            resume = await MarketDataRepository(conn).last_trade_ids(name)
        if name == "binance":
            from tickhub.marketdata.sources.binance import BinanceSource

            sources.append(BinanceSource(settings.binance, settings.symbols, resume=resume))
        elif name == "sim":
            sources.append(_sim(settings, resume))
        else:
            raise typer.BadParameter(
                f"unknown source {name!r}: this version offers binance and sim",
                param_hint="TICKHUB_SOURCES",
            )
    return sources


def _sim(settings: Settings, resume: dict[str, int]) -> SimSource:
    return SimSource(
        settings.symbols,
        rate=settings.sim.rate,
        seed=settings.sim.seed,
        batch_interval_s=settings.sim.batch_interval_s,
        first_ids=resume,
    )


async def _offline_fallback(settings: Settings, engine: AsyncEngine, tracker: Tracker) -> None:
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
    async with engine.connect() as conn:
        resume = await MarketDataRepository(conn).last_trade_ids("sim")
    tracker.add(_sim(settings, resume))


async def _up(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url)
    await upgrade(engine)
    bus = _make_bus(settings)
    await bus.start()
    writer = Writer(engine, capture_interval_s=settings.capture_interval, publish=bus.publish)
    for _ in range(settings.writer_concurrency):
        await bus.subscribe("trades.#", writer.handle, group="writer")
    await bus.subscribe("rejects.#", writer.handle, group="writer")
    tracker = Tracker(
        bus, max_trades=settings.batch_max_trades, max_delay_s=settings.batch_max_delay_s
    )
    sources = await _build_sources(settings, engine)
    tracker.start(sources)
    fallback: asyncio.Task[None] | None = None
    if settings.sim_fallback and any(not s.simulated for s in sources):
        fallback = asyncio.create_task(_offline_fallback(settings, engine, tracker))
    runtime = Runtime(settings=settings, engine=engine, bus=bus, tracker=tracker, writer=writer)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime=runtime),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=logging_config(settings.log_level),
            access_log=False,
        )
    )
    log.info(
        "tickhub up: sources=%s symbols=%s database=%s; API on http://%s:%d (docs at /docs)",
        ",".join(settings.sources) or "none",
        ",".join(settings.symbols),
        engine.url.render_as_string(hide_password=True),
        settings.host,
        settings.port,
    )
    try:
        await server.serve()
    finally:
        log.info("shutting down: flushing buffered trades")
        if fallback is not None:
            fallback.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fallback
        await tracker.stop()
        await bus.close()
        await engine.dispose()
        log.info(
            "stopped: %d trades received, %d new, %d stored",
            writer.stats.received,
            writer.stats.new,
            writer.stats.stored,
        )


@app.command()
def up() -> None:
    """Run tracker, writer and API in one process (SQLite + in-memory bus by default)."""
    settings = Settings()
    _setup_logging(settings)
    asyncio.run(_up(settings))


@app.command()
def api() -> None:
    """Serve the HTTP API alone, over the configured database."""
    settings = Settings()
    _setup_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=logging_config(settings.log_level),
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations."""
    settings = Settings()
    _setup_logging(settings)

    async def run() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo(f"database at {revision}: {settings.resolved_database_url}")


@app.command("import")
def import_trades(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="trades file")],
    exchange: Annotated[str, typer.Option(help="exchange name, e.g. binance")],
    symbol: Annotated[str, typer.Option(help="the exchange's symbol, e.g. BTCUSDT")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="binance-csv, csv, jsonl or parquet (default: by name)"),
    ] = None,
) -> None:
    """Bulk-load trades from a file. Idempotent: importing a file twice changes nothing."""
    from tickhub.marketdata.bulk import run_import
    from tickhub.marketdata.importer import ImportFormatError

    settings = Settings()
    _setup_logging(settings)
    try:
        summary = asyncio.run(
            run_import(settings, file, exchange=exchange.lower(), symbol=symbol.upper(), fmt=fmt)
        )
    except (ImportFormatError, OSError) as exc:
        typer.echo(f"import stopped: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(summary)


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="the admin's e-mail address (the login)")],
    password: Annotated[
        str, typer.Option(help="the password for a new account", prompt=True, hide_input=True)
    ],
) -> None:
    """Create a verified admin. An existing account with this e-mail is made admin and
    verified instead (its password stays as it is)."""
    from tickhub.accounts import service
    from tickhub.accounts.errors import AccountsError
    from tickhub.accounts.schemas import normalize_email

    settings = Settings()
    _setup_logging(settings)
    try:
        address = normalize_email(email)
    except ValueError as exc:
        typer.echo(f"not an e-mail address: {email!r}", err=True)
        raise typer.Exit(2) from exc

    async def run() -> tuple[str, bool]:
        engine = create_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            accounts = service.build_accounts(settings, engine)
            user, created = await service.create_admin(accounts, email=address, password=password)
            return user.email, created
        finally:
            await engine.dispose()

    try:
        who, created = asyncio.run(run())
    except AccountsError as exc:
        details = " ".join(m for ms in exc.errors.values() for m in ms) or exc.message
        typer.echo(f"admin not created: {details}", err=True)
        raise typer.Exit(1) from exc
    if created:
        typer.echo(f"admin {who} created (verified)")
    else:
        typer.echo(
            f"{who} already had an account: it is now an admin, verified; password unchanged"
        )
