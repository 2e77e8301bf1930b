"""Migration 0006 creates exactly the alerts tables the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import tickhub.alerts.models as alerts_models
from tickhub.db import Base

ALERT_TABLES = {
    m.__tablename__ for m in vars(alerts_models).values() if hasattr(m, "__tablename__")
}


def _tables(item: Any) -> set[str]:
    found: set[str] = set()
    for part in item[1:] if isinstance(item, tuple) else ():
        if isinstance(part, str):
            found.add(part)
        for obj in (part, getattr(part, "table", None)):
            name = getattr(obj, "name", None)
            if isinstance(name, str):
                found.add(name)
    return found


def _alert_changes(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    changes = compare_metadata(context, Base.metadata)
    flat = [c for change in changes for c in (change if isinstance(change, list) else [change])]
    return [c for c in flat if _tables(c) & ALERT_TABLES]


async def test_alerts_schema_matches_the_models(engine: AsyncEngine) -> None:
    assert {"strategies", "strategy_marks", "alerts", "alert_deliveries"} == ALERT_TABLES
    async with engine.connect() as conn:
        assert await conn.run_sync(_alert_changes) == []
