"""Migration 0002 creates exactly the accounts tables the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import tickhub.accounts.models as accounts_models
from tickhub.db import Base

ACCOUNT_TABLES = {
    t.name
    for t in Base.metadata.sorted_tables
    if t.name
    in {m.__tablename__ for m in vars(accounts_models).values() if hasattr(m, "__tablename__")}
}


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _table_of(change: Any) -> str | None:
    item = change[0] if isinstance(change, list) else change
    for part in item[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if isinstance(part, str):
            return part if part in ACCOUNT_TABLES else None
        if name in ACCOUNT_TABLES:
            return str(name)
    return None


async def test_accounts_schema_matches_the_models(engine: AsyncEngine) -> None:
    expected = {
        "users",
        "refresh_tokens",
        "api_keys",
        "user_settings",
        "user_wallets",
        "market_wallet",
        "resources",
    }
    assert expected == ACCOUNT_TABLES
    async with engine.connect() as conn:
        changes = await conn.run_sync(_diff)
    assert [c for c in changes if _table_of(c)] == []
