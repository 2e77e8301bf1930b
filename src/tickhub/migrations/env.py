"""Alembic environment. tickhub runs migrations through `tickhub.migrate.upgrade`, which
hands a live connection in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

# Importing the model modules registers their tables.
import tickhub.accounts.models
import tickhub.alerts.models
import tickhub.market.models
import tickhub.marketdata.coinmarketcap.models
import tickhub.marketdata.store.models
import tickhub.sessions.datasets._models
import tickhub.sessions.models  # noqa: F401
from tickhub.db import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Leave the time partitions of `trades` (PostgreSQL, migration 0003) out of
    autogenerate: they are made and dropped at run time by `marketdata.partitions`."""
    if type_ == "table" and name is not None:
        return not (name.startswith("trades_p") or name == "trades_default")
    return True


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        include_name=include_name,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(
            config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool
        )
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
