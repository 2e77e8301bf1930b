"""The migrations create exactly the tables the models describe: every column, type,
index and primary key, on SQLite and PostgreSQL (`tickhub migrate` is how every
database is made, so a model changed without its migration fails here)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from tickhub.db import Base

TABLES = {
    "market data (0001, 0003, 0012)": {
        "exchanges",
        "assets",
        "instruments",
        "trades",
        "candles",
        "latest_prices",
        "coverage",
        "rejected_frames",
    },
    "sessions and data sets (0004, 0005)": {
        "models",
        "sessions",
        "transactions",
        "training_datasets",
        "training_dataset_rows",
    },
    "accounts and the market's holdings (0002)": {
        "users",
        "refresh_tokens",
        "api_keys",
        "user_settings",
        "user_wallets",
        "market_wallet",
        "resources",
    },
    "alerts (0006, 0014)": {"strategies", "strategy_marks", "alerts", "alert_deliveries"},
    "coinmarketcap (0007)": {"cmc_listings", "cmc_global_metrics"},
    "market (0008)": {
        "market_sessions",
        "market_bids",
        "market_bid_payments",
        "market_transactions",
        "market_balances",
        "market_session_balances",
        "market_session_fees",
        "market_price_weights",
        "market_transfers_out",
        "raw_data",
        "market_forecasts",
        "market_notifications",
        "market_clearings",
    },
    "alert targets (0010)": {"alert_targets"},
    "market notification types (0013)": {"market_notification_types"},
}


def _tables(change: Any) -> set[str]:
    """The table names an autogenerate difference speaks of."""
    found: set[str] = set()
    for part in change[1:] if isinstance(change, tuple) else ():
        if isinstance(part, str):
            found.add(part)
        for obj in (part, getattr(part, "table", None)):
            name = getattr(obj, "name", None)
            if isinstance(name, str):
                found.add(name)
    return found


def _differences(conn: Connection, tables: set[str]) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    changes = compare_metadata(context, Base.metadata)
    flat = [c for change in changes for c in (change if isinstance(change, list) else [change])]
    return [c for c in flat if _tables(c) & tables]


def _primary_keys(conn: Connection, tables: set[str]) -> dict[str, list[str]]:
    found = inspect(conn)
    return {t: found.get_pk_constraint(t)["constrained_columns"] for t in sorted(tables)}


@pytest.mark.parametrize("group", sorted(TABLES))
async def test_migrated_schema_matches_the_models(engine: AsyncEngine, group: str) -> None:
    tables = TABLES[group]
    assert tables <= set(Base.metadata.tables), tables - set(Base.metadata.tables)
    async with engine.connect() as conn:
        assert await conn.run_sync(_differences, tables) == []
        keys = await conn.run_sync(_primary_keys, tables)
    # autogenerate does not compare primary keys; idempotent writes rely on them
    expected = {t: [c.name for c in Base.metadata.tables[t].primary_key.columns] for t in tables}
    if engine.dialect.name == "postgresql" and "trades" in tables:
        # partitioned by time (0003): a partitioned table's key must hold the partition column
        expected["trades"] = [*expected["trades"], "ts"]
    assert keys == expected
