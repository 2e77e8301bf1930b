"""Shared fixtures: a fresh database per test on SQLite and, when reachable, PostgreSQL.

PostgreSQL tests run against `TICKHUB_TEST_POSTGRES_URL` (default: the local server with
trust auth). When it cannot be reached they are skipped with the reason, unless
`TICKHUB_REQUIRE_SERVICES=1` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.app import create_app
from tickhub.bus import MemoryBus
from tickhub.db import Base, create_engine
from tickhub.gateway._logs import QueuedStreamHandler, StandardStream
from tickhub.marketdata.events import Trade, TradeBatch
from tickhub.marketdata.live.hub import LiveHub
from tickhub.marketdata.store.writer import Writer
from tickhub.migrate import upgrade
from tickhub.runtime import Runtime
from tickhub.settings import Settings


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """The whole suite leaves a heap of several GB behind (each test's app stays
    reachable from module-level routers); the collections at interpreter exit then
    scanned it for minutes after the summary. Frozen objects are never scanned, and
    nothing is left to run once the session has finished."""
    gc.freeze()


# The loggers `logging_config` sets up (the root, the access log, uvicorn's).
_CONFIGURED_LOGGERS = ("", "tickhub.access", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in this process (`CliRunner`) applies `logging_config` to the whole
    process: its handlers would write every later test's access lines and logs to the
    terminal. Afterwards they are closed and taken off, and the loggers' levels and
    propagation put back (pytest's own capture handlers are left alone)."""
    saved = {
        name: (logger, list(logger.handlers), logger.level, logger.propagate)
        for name in _CONFIGURED_LOGGERS
        for logger in [logging.getLogger(name)]
    }
    yield
    for logger, handlers, level, propagate in saved.values():
        for handler in list(logger.handlers):
            ours = isinstance(handler, QueuedStreamHandler) or isinstance(
                getattr(handler, "stream", None), StandardStream
            )
            if ours and handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)
        logger.propagate = propagate


PG_URL = os.environ.get(
    "TICKHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("TICKHUB_REQUIRE_SERVICES") == "1"


def service_unavailable(what: str, reason: str) -> NoReturn:
    message = f"{what} not reachable ({reason})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and TICKHUB_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


async def _admin(sql: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _create_pg_database(name: str) -> str:
    await _admin(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database created (and migrated) for this test session, dropped at the end."""
    name = f"tickhub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        url = asyncio.run(asyncio.wait_for(_create_pg_database(name), 30))
    except (OSError, TimeoutError) as exc:
        service_unavailable(f"PostgreSQL at {PG_URL}", repr(exc))
    except Exception as exc:
        if "connect" in repr(exc).lower() or "refused" in repr(exc).lower():
            service_unavailable(f"PostgreSQL at {PG_URL}", repr(exc))
        raise
    yield url
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickhub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    if eng.dialect.name == "sqlite":
        await upgrade(eng)
    else:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with eng.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield eng
    await eng.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="test",
        data_dir=tmp_path,
        database_url=database_url,
        sources=[],
    )


@pytest.fixture
async def runtime(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Runtime]:
    bus = MemoryBus()
    await bus.start()
    writer = Writer(engine, publish=bus.publish)
    live = LiveHub(bus)  # started by the app's lifespan (a served app), not by this fixture
    yield Runtime(settings=settings, engine=engine, bus=bus, writer=writer, live=live)
    await live.stop()
    await bus.close()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def store(
    runtime: Runtime,
    exchange: str,
    symbol: str,
    trades: Sequence[Trade],
    *,
    simulated: bool = False,
) -> int:
    """Store trades through the real writer; returns how many were new."""
    assert runtime.writer is not None
    return await runtime.writer.write(
        TradeBatch(exchange, symbol, tuple(trades), simulated=simulated)
    )
