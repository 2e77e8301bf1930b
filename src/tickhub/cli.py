"""The `tickhub` command line (Typer): a thin layer over `bootstrap`, which builds and
wires the services."""

from __future__ import annotations

import asyncio
import logging
import logging.config
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from tickhub import bootstrap
from tickhub.app import create_app
from tickhub.common.supervise import TaskFailed
from tickhub.db import create_engine, masked_url
from tickhub.gateway import logging_config
from tickhub.migrate import upgrade
from tickhub.settings import Settings

app = typer.Typer(
    help="tickhub: crypto market data hub and trading-bot backend.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
admin_app = typer.Typer(help="Administrators.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
deadletter_app = typer.Typer(
    help="Messages the in-memory bus of `tickhub up` could not deliver.", no_args_is_help=True
)
app.add_typer(deadletter_app, name="deadletter")

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


def _run(service: Coroutine[Any, Any, None]) -> None:
    """Run a service until it returns; a setting that cannot work is one clear line."""
    try:
        asyncio.run(service)
    except bootstrap.ConfigurationError as exc:
        typer.echo(f"tickhub: {exc.setting}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except TaskFailed as exc:  # a background task kept failing: let the orchestrator restart
        typer.echo(f"tickhub: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command()
def up() -> None:
    """Run tracker, writer, scanner and API in one process (SQLite + in-memory bus by
    default)."""
    settings = Settings()
    _setup_logging(settings)
    _run(bootstrap.run_up(settings))


@app.command()
def tracker() -> None:
    """Run the sources alone, publishing trades to the bus (distributed mode)."""
    settings = Settings()
    _setup_logging(settings)
    _run(bootstrap.run_tracker(settings))


@app.command()
def writer() -> None:
    """Consume trades from the bus into the database (distributed mode; run several)."""
    settings = Settings()
    _setup_logging(settings)
    _run(bootstrap.run_writer(settings))


@app.command()
def scanner() -> None:
    """Evaluate strategies on every candle close and raise alerts (distributed mode; run
    several)."""
    settings = Settings()
    _setup_logging(settings)
    _run(bootstrap.run_scanner(settings))


@app.command("market-engine")
def market_engine() -> None:
    """Clear the market sessions launched on the bus (distributed mode; run several)."""
    settings = Settings()
    _setup_logging(settings)
    _run(bootstrap.run_market_engine(settings))


@app.command()
def api(
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes on one port (default TICKHUB_API_WORKERS, 1); each "
            "holds its own in-memory prices and live hub, kept current by the bus itself",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API alone, over the configured database."""
    settings = Settings()
    _setup_logging(settings)
    count = workers or settings.api_workers
    if count == 1:
        bootstrap.ServingServer(bootstrap.server_config(create_app(settings), settings)).run()
        return
    # Each worker imports the app factory and builds its own engine, bus subscriptions,
    # snapshot and live hub from the same settings (the environment).
    config = bootstrap.server_config("tickhub.app:create_app", settings, workers=count)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


@deadletter_app.command("replay")
def deadletter_replay() -> None:
    """Write the writer's dead letters (under the data directory) to the database again;
    those that fail again stay in the file. Exits 1 when some are kept."""
    settings = Settings()
    _setup_logging(settings)
    written, kept = asyncio.run(bootstrap.replay_dead_letters(settings))
    where = bootstrap.dead_letter_file(settings).path
    typer.echo(f"{written} dead letters written, {kept} kept in {where}")
    if kept:
        raise typer.Exit(1)


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
    typer.echo(f"database at {revision}: {masked_url(settings.resolved_database_url)}")


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
    from tickhub.marketdata.ingest.importer import ImportFormatError

    settings = Settings()
    _setup_logging(settings)
    try:
        summary = asyncio.run(
            bootstrap.import_trades(
                settings, file, exchange=exchange.lower(), symbol=symbol.upper(), fmt=fmt
            )
        )
    except (ImportFormatError, OSError) as exc:
        typer.echo(f"import stopped: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(summary)


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="the admin's e-mail address (the login)")],
    password: Annotated[
        str, typer.Option(help="the admin's password", prompt=True, hide_input=True)
    ],
    promote_existing: Annotated[
        bool,
        typer.Option(
            "--promote-existing",
            help="make an existing account with this e-mail admin: its password is reset "
            "to the one given, its sign-ins and API keys are revoked",
        ),
    ] = False,
) -> None:
    """Create a verified admin. An existing account with this e-mail is refused unless
    `--promote-existing` is given: it is then made admin and verified, its password is
    reset to the one given, and its sign-ins and API keys are revoked."""
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
            user, created = await service.create_admin(
                accounts, email=address, password=password, promote_existing=promote_existing
            )
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
            f"{who} already had an account: it is now an admin, verified; its password is "
            "reset, its sign-ins and API keys are revoked"
        )
