"""Engine and session factories, and the shared table metadata.

Nothing here connects at import time: `create_engine` is called by the composition roots
(`cli.py`, `app.py`, tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import DateTime, Dialect, MetaData, Numeric, String, TypeDecorator, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

from tickhub.common.uow import ConstraintViolation

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back as an aware UTC `datetime` on every
    backend (SQLite keeps no offset, PostgreSQL uses `timestamptz`). Naive values are
    refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal (money, coin amounts): `NUMERIC(38, 18)` on PostgreSQL; on SQLite,
    which has no exact decimal type (its NUMERIC is a float), the canonical text of the
    `Decimal`. Values with more than 18 decimal places or 20 integer digits are refused
    rather than rounded; callers validate first."""

    impl = Numeric(38, 18, asdecimal=True)
    cache_ok = True
    SCALE = 18
    MAX = Decimal(10) ** 20

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite() or abs(value) >= self.MAX:
            raise ValueError(f"ExactDecimal needs a finite Decimal below 1e20, got {value!r}")
        if dialect.name == "sqlite":
            return format(value.normalize(), "f")
        return value

    def process_result_value(self, value: Any, _dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).normalize()


# SQLSTATE classes that mean "the server is not there right now": 08 connection
# exception, 57P01-57P03 admin shutdown / crash shutdown / cannot connect now.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def unavailable(exc: BaseException) -> bool:
    """The database cannot be reached right now (down, restarting, a network cut): worth
    waiting for, unlike an error in what was asked of it."""
    if isinstance(exc, OSError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        code = str(getattr(orig, "sqlstate", "") or getattr(orig, "pgcode", "") or "")
        if code.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        text = str(orig).lower()
        return "connection" in text and ("closed" in text or "refused" in text or "lost" in text)
    return False


def short_error(exc: BaseException) -> str:
    """An error's first line, for a log line."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


T = TypeVar("T")


async def when_reachable(
    work: Callable[[], Awaitable[T]],
    *,
    initial_s: float,
    max_s: float,
    within_s: float | None = None,
    on_retry: Callable[[BaseException, float], None],
) -> T:
    """`work()`, tried again while the database cannot be reached (`unavailable`), after
    `initial_s`, then twice as long each time up to `max_s`; `on_retry(error, delay)`
    before each wait. Any other error is raised at once, and so is the last one once
    `within_s` (when given) has passed."""
    loop = asyncio.get_running_loop()
    deadline = None if within_s is None else loop.time() + within_s
    delay = initial_s
    while True:
        try:
            return await work()
        except Exception as exc:
            if not unavailable(exc) or (deadline is not None and loop.time() + delay > deadline):
                raise
            on_retry(exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_s)


def async_url(url: str) -> URL:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


def masked_url(url: str) -> str:
    """The URL to show: its password as `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(a database URL that cannot be read)"


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        database = target.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(target, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class UnitOfWork:
    """One transaction over one connection: the commit point of a use case.

        async with SessionsUnitOfWork(engine) as tx:
            session_id = await tx.sessions.add_session(values)
            await tx.commit()

    Writes become durable at `commit()`; leaving the block without it rolls back, and so
    does an exception. Repositories never commit. A context subclasses this and builds its
    repositories on the connection in `_open`; tests hand services an in-memory fake with
    the same attributes and `commit`/`rollback` (`tickhub.common.uow.Uow`).

    A broken uniqueness or integrity constraint (`IntegrityError`, in a statement or at
    commit) leaves the block as `tickhub.common.uow.ConstraintViolation`, so services
    handle it without knowing SQLAlchemy.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None

    @classmethod
    def factory(cls, engine: AsyncEngine) -> Callable[[], Self]:
        """Units of work of this kind on `engine`: what services and workers receive."""
        return partial(cls, engine)

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with`")
        return self._conn

    def _open(self, conn: AsyncConnection) -> None:
        """Build the repositories on `conn` (subclasses)."""

    async def __aenter__(self) -> Self:
        conn = await self.engine.connect()
        try:
            await conn.begin()
            self._open(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        return self

    async def commit(self) -> None:
        try:
            await self.conn.commit()
        except IntegrityError as exc:
            raise ConstraintViolation(str(exc.orig)) from exc

    async def rollback(self) -> None:
        await self.conn.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self.conn, None
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()
        if isinstance(exc, IntegrityError):
            raise ConstraintViolation(str(exc.orig)) from exc
